"""Tests of fsgan.metrics against pytorch-fid 0.3.0, prdc 0.2 and direct formulas."""

from __future__ import annotations

import functools
import http.server
import json
import logging
import math
import socket
import threading

import numpy as np
import prdc as prdc_package
import pytest
import torch
from pytorch_fid.fid_score import calculate_frechet_distance
from torch import nn

from fsgan import metrics
from fsgan.metrics import (
    INCEPTION_WEIGHTS_FILE,
    INCEPTION_WEIGHTS_URL_ENV,
    ClassifierExtractor,
    InceptionExtractor,
    InceptionWeightsNotFoundError,
    class_fid,
    compute_gan_metrics,
    extract_features,
    fid,
    frechet_distance,
    kid,
    metric_key,
    prdc,
)

PRDC_KEYS = ("precision", "recall", "density", "coverage")


def gaussian(n: int, dim: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, scale, size=(n, dim))


def relative_error(value: float, reference: float) -> float:
    return abs(value - reference) / max(abs(reference), 1e-12)


# --------------------------------------------------------------------------- FID


# pytorch-fid 0.3.0 passes sqrtm's `disp` argument, which SciPy 1.16+ deprecates.
@pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning")
@pytest.mark.parametrize(("n_real", "n_fake", "dim", "shift"), [
    (300, 300, 32, 0.0),
    (400, 250, 32, 0.3),
    (200, 500, 64, 1.0),
])
def test_fid_matches_pytorch_fid(n_real, n_fake, dim, shift):
    real = gaussian(n_real, dim, seed=1)
    fake = gaussian(n_fake, dim, seed=2, shift=shift, scale=1.3)
    reference = calculate_frechet_distance(
        real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False)
    )

    value = fid(real, fake)

    assert relative_error(value, float(reference)) < 1e-6


def test_frechet_distance_is_symmetric():
    real, fake = gaussian(300, 16, seed=3), gaussian(300, 16, seed=4, shift=0.5)
    stats_real = (real.mean(0), np.cov(real, rowvar=False))
    stats_fake = (fake.mean(0), np.cov(fake, rowvar=False))

    forward = frechet_distance(*stats_real, *stats_fake)
    backward = frechet_distance(*stats_fake, *stats_real)

    assert relative_error(forward, backward) < 1e-9


@pytest.mark.parametrize(("n", "dim"), [(500, 64), (2000, 128), (40, 64)])
def test_fid_self_is_zero(n, dim):
    features = gaussian(n, dim, seed=5, scale=3.0)

    value = fid(features, features)

    assert type(value) is float
    assert value >= 0.0
    assert value < 1e-6


def test_fid_few_samples_warns(caplog):
    real, fake = gaussian(20, 64, seed=6), gaussian(20, 64, seed=7, shift=0.5)

    with caplog.at_level(logging.WARNING, logger="fsgan.metrics"):
        value = fid(real, fake)

    assert math.isfinite(value)
    assert value >= 0.0
    warnings_logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("20 samples for 64 feature dimensions" in r.getMessage() for r in warnings_logged)


def test_fid_rejects_mismatched_dims():
    with pytest.raises(ValueError, match="D=8"):
        fid(gaussian(50, 8, seed=0), gaussian(50, 9, seed=1))


def test_fid_rejects_nan():
    features = gaussian(50, 8, seed=0)
    features[3, 2] = np.nan

    with pytest.raises(ValueError, match="NaN"):
        fid(features, gaussian(50, 8, seed=1))


def test_class_fid_mean_of_per_class():
    rng = np.random.default_rng(8)
    real_labels = np.repeat([0, 3, 7], 60)
    fake_labels = rng.permutation(np.repeat([7, 0, 3], 50))
    real = gaussian(180, 8, seed=9) + real_labels[:, None] * 0.2
    fake = gaussian(150, 8, seed=10) + fake_labels[:, None] * 0.25

    mean, per_class = class_fid(real, real_labels, fake, fake_labels)

    assert sorted(per_class) == [0, 3, 7]
    assert mean == pytest.approx(np.mean(list(per_class.values())), rel=1e-12)
    for class_id, value in per_class.items():
        expected = fid(real[real_labels == class_id], fake[fake_labels == class_id])
        assert value == pytest.approx(expected, rel=1e-12)


def test_class_fid_rejects_missing_class():
    real_labels = np.repeat([0, 1], 30)
    fake_labels = np.zeros(30, dtype=int)

    with pytest.raises(ValueError, match="class 1"):
        class_fid(gaussian(60, 4, seed=0), real_labels, gaussian(30, 4, seed=1), fake_labels)


# --------------------------------------------------------------------------- KID


def unbiased_mmd_by_loops(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased polynomial-kernel MMD^2, written pair by pair as an independent reference."""
    def kernel(a, b):
        return (float(a @ b) / x.shape[1] + 1.0) ** 3

    m = x.shape[0]
    within_x = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    within_y = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    cross = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return within_x / (m * (m - 1)) + within_y / (m * (m - 1)) - 2.0 * cross / (m * m)


def test_kid_matches_pair_formula():
    # With 10 samples per set the subset size is capped to 10, so every subset is the
    # whole set and the mean equals the single full-set estimate.
    real, fake = gaussian(10, 5, seed=11), gaussian(10, 5, seed=12, shift=0.4)

    mean, std = kid(real, fake, subset_size=1000, n_subsets=5)

    assert mean == pytest.approx(unbiased_mmd_by_loops(real, fake), rel=1e-9)
    assert std < 1e-9


def test_kid_same_seed_same_result():
    real, fake = gaussian(300, 16, seed=13), gaussian(300, 16, seed=14, shift=0.2)

    first = kid(real, fake, subset_size=100, n_subsets=10, seed=5)
    second = kid(real, fake, subset_size=100, n_subsets=10, seed=5)
    other_seed = kid(real, fake, subset_size=100, n_subsets=10, seed=6)

    assert first == second
    assert other_seed != first


def test_kid_same_distribution_near_zero():
    real, fake = gaussian(1000, 16, seed=15), gaussian(1000, 16, seed=16)
    shifted = gaussian(1000, 16, seed=17, shift=0.5)

    same_mean, same_std = kid(real, fake, subset_size=500, n_subsets=20)
    shifted_mean, _ = kid(real, shifted, subset_size=500, n_subsets=20)

    assert abs(same_mean) < 0.02
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert shifted_mean > 0.2
    assert shifted_mean > 20 * abs(same_mean)


def test_kid_small_sets_finite():
    mean, std = kid(gaussian(10, 64, seed=18), gaussian(12, 64, seed=19), n_subsets=3)

    assert math.isfinite(mean)
    assert math.isfinite(std)


# --------------------------------------------------------------------------- PRDC


@pytest.mark.parametrize(("n_real", "n_fake", "nearest_k", "chunk_size"), [
    (400, 400, 3, 4096),
    (400, 400, 3, 37),
    (350, 280, 5, 64),
    (200, 300, 1, 50),
])
def test_prdc_matches_prdc_package(n_real, n_fake, nearest_k, chunk_size, capsys):
    real = gaussian(n_real, 24, seed=20)
    fake = gaussian(n_fake, 24, seed=21, shift=0.2, scale=1.2)
    reference = prdc_package.compute_prdc(real, fake, nearest_k)
    capsys.readouterr()  # the prdc package prints the sample counts

    values = prdc(real, fake, nearest_k=nearest_k, chunk_size=chunk_size, device="cpu")

    for name in PRDC_KEYS:
        assert abs(values[name] - float(reference[name])) < 1e-6, name


def test_prdc_ties_match_prdc_package(capsys):
    # Integer lattice points have many exactly equal distances, so every strict
    # comparison with a radius must be decided exactly.
    rng = np.random.default_rng(30)
    real = rng.integers(0, 3, size=(300, 6)).astype(np.float64)
    fake = rng.integers(0, 3, size=(250, 6)).astype(np.float64)
    reference = prdc_package.compute_prdc(real, fake, 3)
    capsys.readouterr()

    values = prdc(real, fake, nearest_k=3, chunk_size=64, device="cpu")

    for name in PRDC_KEYS:
        assert abs(values[name] - float(reference[name])) < 1e-6, name


def test_prdc_hand_computed_example():
    # 1-D points. Real radii (k=1) are all 1, and generated radii are 4.5, 4.5 and 5.
    # Generated 5.0 is exactly r = 1 from real 4, so the strict comparison excludes it.
    real = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    fake = np.array([[0.5], [5.0], [10.0]])

    values = prdc(real, fake, nearest_k=1, device="cpu")

    assert values["precision"] == pytest.approx(1 / 3)
    assert values["recall"] == pytest.approx(1.0)
    assert values["density"] == pytest.approx(2 / 3)
    assert values["coverage"] == pytest.approx(2 / 5)


@pytest.mark.parametrize("case", ["gaussian", "lattice", "duplicates"])
def test_prdc_float32_tiles_match_float64(case):
    rng = np.random.default_rng(31)
    if case == "gaussian":
        real, fake = gaussian(300, 32, seed=32), gaussian(280, 32, seed=33, shift=0.2)
    elif case == "lattice":
        real = rng.integers(0, 3, size=(300, 6)).astype(np.float64)
        fake = rng.integers(0, 3, size=(280, 6)).astype(np.float64)
    else:
        real = gaussian(300, 32, seed=34)
        fake = np.repeat(real[:7], 40, axis=0)
    real_t, fake_t = torch.from_numpy(real), torch.from_numpy(fake)
    center = real_t.mean(dim=0)

    with torch.no_grad():
        single = metrics._prdc_tiled(real_t, fake_t, center, 3, 50, torch.float32)
        double = metrics._prdc_tiled(real_t, fake_t, center, 3, 50, torch.float64)

    for name in PRDC_KEYS:
        assert single[name] == double[name], name


def test_float32_matmul_ieee_check():
    cpu = torch.device("cpu")
    previous = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("highest")
        ieee_when_highest = metrics._float32_matmul_is_ieee(cpu)
        torch.set_float32_matmul_precision("medium")
        ieee_when_medium = metrics._float32_matmul_is_ieee(cpu)
    finally:
        torch.set_float32_matmul_precision(previous)

    assert ieee_when_highest
    assert not ieee_when_medium


def test_prdc_cpu_tiles_are_float64():
    real = torch.from_numpy(gaussian(50, 8, seed=35))
    fake = torch.from_numpy(gaussian(50, 8, seed=36))

    assert metrics._choose_tile_dtype(real, fake) == torch.float64


def test_prdc_chunking_is_exact():
    real, fake = gaussian(300, 16, seed=22), gaussian(290, 16, seed=23, shift=0.3)

    whole = prdc(real, fake, chunk_size=10_000, device="cpu")
    chunked = prdc(real, fake, chunk_size=7, device="cpu")

    for name in PRDC_KEYS:
        assert chunked[name] == whole[name], name


def test_prdc_repeated_samples_direction():
    # A "generator" that outputs copies of 5 real images covers very little of the
    # real manifold. Its samples all lie on real points (high precision), but its own
    # k-NN balls have radius 0 (low recall). Swapping the roles swaps the two.
    real = gaussian(500, 16, seed=24)
    repeated = np.repeat(real[:5], 100, axis=0)

    forward = prdc(real, repeated, nearest_k=3, device="cpu")
    swapped = prdc(repeated, real, nearest_k=3, device="cpu")

    assert forward["precision"] > 0.9
    assert forward["recall"] < 0.1
    assert swapped["precision"] < 0.1
    assert swapped["recall"] > 0.9
    assert forward["coverage"] < 0.1


def test_prdc_rejects_too_few_samples():
    with pytest.raises(ValueError, match="at least 4"):
        prdc(gaussian(3, 4, seed=0), gaussian(10, 4, seed=1), nearest_k=3)


# --------------------------------------------------------------------------- keys and bundle


def test_metric_key_format():
    assert metric_key("fid", "clf", 3392, "valid") == "fid_clf_n3392_valid"
    assert metric_key("kid_mean", "inception", 0, "test") == "kid_mean_inception_n0_test"


@pytest.mark.parametrize(("metric", "extractor", "n", "split"), [
    ("", "clf", 1, "valid"),
    ("fid", "c lf", 1, "valid"),
    ("fid", "clf", -1, "valid"),
    ("fid", "clf", 1.5, "valid"),
])
def test_metric_key_rejects_invalid(metric, extractor, n, split):
    with pytest.raises(ValueError):
        metric_key(metric, extractor, n, split)


def test_compute_gan_metrics_bundle():
    real_labels = np.repeat([0, 1], 100)
    fake_labels = np.repeat([0, 1], 60)
    real = gaussian(200, 8, seed=25) + real_labels[:, None]
    fake = gaussian(120, 8, seed=26, shift=0.1) + fake_labels[:, None]

    result = compute_gan_metrics(
        real, real_labels, fake, fake_labels, extractor="clf", split="valid",
        kid_subset_size=50, kid_subsets=10, seed=3, device="cpu",
    )
    found = result["metrics"]
    settings = result["settings"]

    expected_names = ["fid", "cfid", "cfid_per_class", "kid_mean", "kid_std", *PRDC_KEYS]
    assert set(found) == {metric_key(name, "clf", 120, "valid") for name in expected_names}
    assert found["fid_clf_n120_valid"] == fid(real, fake)
    assert found["kid_mean_clf_n120_valid"] == kid(real, fake, 50, 10, seed=3)[0]
    assert found["precision_clf_n120_valid"] == prdc(real, fake)["precision"]
    per_class = found["cfid_per_class_clf_n120_valid"]
    assert set(per_class) == {"0", "1"}
    assert found["cfid_clf_n120_valid"] == pytest.approx(np.mean(list(per_class.values())))
    assert settings["n_real"] == 200
    assert settings["n_fake"] == 120
    assert settings["feature_dim"] == 8
    assert settings["kid_subset_size"] == 50
    assert settings["seed"] == 3
    assert set(settings["versions"]) == {"numpy", "scipy", "torch"}
    assert json.loads(json.dumps(result)) == result


# --------------------------------------------------------------------------- extraction


class TinyConvNet(nn.Module):
    """Deterministic conv net whose BatchNorm differs between train and eval mode."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 12, 3, stride=2, padding=1), nn.ReLU(),
        )
        batch_norm = self.body[1]
        batch_norm.running_mean.uniform_(-0.5, 0.5)
        batch_norm.running_var.uniform_(0.5, 2.0)
        self.feature_dim = 12

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.body(x), 1), 1)


def random_uint8_images(n: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, channels, 16, 16), dtype=np.uint8)


def test_extraction_batch_size_invariant():
    extractor = ClassifierExtractor(TinyConvNet())
    images = random_uint8_images(80, seed=27)
    labels = np.repeat([0, 1], 20)

    results = {}
    for batch_size in (1, 7, 80):
        features = extract_features(extractor, images, batch_size=batch_size, device="cpu")
        results[batch_size] = compute_gan_metrics(
            features[:40], labels, features[40:], labels, extractor="clf", split="valid",
            kid_subset_size=20, kid_subsets=5, device="cpu",
        )["metrics"]

    reference = results[80]
    for batch_size in (1, 7):
        for key, value in reference.items():
            if isinstance(value, dict):
                continue
            other = results[batch_size][key]
            assert abs(other - value) <= 1e-6 * max(abs(value), 1e-3), (batch_size, key)


def test_extract_features_shape_and_mode():
    model = TinyConvNet()
    model.train()
    extractor = ClassifierExtractor(model)

    features = extract_features(extractor, random_uint8_images(5), batch_size=2, device="cpu")

    assert features.shape == (5, 12)
    assert features.dtype == np.float32
    assert model.training
    assert model.body[1].training


def test_extract_features_uint8_matches_float():
    extractor = ClassifierExtractor(TinyConvNet())
    images = random_uint8_images(6, seed=28)
    as_float = torch.from_numpy(images).float() / 127.5 - 1.0

    from_uint8 = extract_features(extractor, images, device="cpu")
    from_float = extract_features(extractor, as_float, device="cpu")

    np.testing.assert_allclose(from_uint8, from_float, rtol=0, atol=1e-6)


def test_extract_features_replicates_gray():
    extractor = ClassifierExtractor(TinyConvNet())
    gray = random_uint8_images(4, channels=1, seed=29)

    from_gray = extract_features(extractor, gray, device="cpu")
    from_rgb = extract_features(extractor, np.repeat(gray, 3, axis=1), device="cpu")

    np.testing.assert_array_equal(from_gray, from_rgb)


def test_extract_features_rejects_unit_range():
    extractor = ClassifierExtractor(TinyConvNet())
    images = torch.rand(4, 3, 16, 16) * 2.0

    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        extract_features(extractor, images, device="cpu")


def test_classifier_extractor_rejects_model_without_features():
    with pytest.raises(TypeError, match="features"):
        ClassifierExtractor(nn.Linear(3, 3))


# --------------------------------------------------------------------------- Inception


@pytest.fixture
def empty_hub_dir(tmp_path, monkeypatch):
    """Point torch hub at an empty directory and clear the URL override."""
    previous = torch.hub.get_dir()
    hub_dir = tmp_path / "hub"
    torch.hub.set_dir(str(hub_dir))
    monkeypatch.delenv(INCEPTION_WEIGHTS_URL_ENV, raising=False)
    yield hub_dir
    torch.hub.set_dir(previous)


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """A state-dict file of the FID Inception architecture with random weights."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / INCEPTION_WEIGHTS_FILE
    torch.save(metrics._build_fid_inception_v3().state_dict(), path)
    return path


def closed_local_url() -> str:
    """Return a URL on a 127.0.0.1 port that has just been released, so connecting fails."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{INCEPTION_WEIGHTS_FILE}"


def test_inception_missing_weights_raises(empty_hub_dir):
    url = closed_local_url()

    with pytest.raises(InceptionWeightsNotFoundError) as caught:
        InceptionExtractor(url=url)

    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert INCEPTION_WEIGHTS_FILE in message
    assert str(empty_hub_dir / "checkpoints" / INCEPTION_WEIGHTS_FILE) in message
    assert url in message
    assert not (empty_hub_dir / "checkpoints" / INCEPTION_WEIGHTS_FILE).exists()


def test_inception_no_download_raises(empty_hub_dir):
    with pytest.raises(InceptionWeightsNotFoundError, match="allow_download=False"):
        InceptionExtractor(allow_download=False)


def test_inception_missing_path_raises(tmp_path):
    missing = tmp_path / "nowhere.pth"

    with pytest.raises(InceptionWeightsNotFoundError, match="nowhere.pth"):
        InceptionExtractor(weights_path=missing)


def test_inception_loads_local_weights(random_inception_weights, monkeypatch):
    from pytorch_fid import inception as pytorch_fid_inception

    extractor = InceptionExtractor(weights_path=random_inception_weights)
    images = torch.rand(2, 3, 32, 32) * 2.0 - 1.0

    features = extract_features(extractor, images, batch_size=2, device="cpu")

    assert features.shape == (2, 2048)
    assert np.isfinite(features).all()

    # pytorch-fid's own InceptionV3 with the same weights must give the same features.
    # Its loader is replaced so that it reads the local file instead of downloading.
    state_dict = torch.load(random_inception_weights, weights_only=True)
    monkeypatch.setattr(
        pytorch_fid_inception, "load_state_dict_from_url", lambda *args, **kwargs: state_dict
    )
    reference_net = pytorch_fid_inception.InceptionV3([3]).eval()
    with torch.no_grad():
        reference = reference_net((images + 1.0) / 2.0)[0].flatten(1).numpy()
    np.testing.assert_allclose(features, reference, rtol=1e-4, atol=1e-5)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_inception_downloads_from_url(empty_hub_dir, random_inception_weights):
    handler = functools.partial(QuietHandler, directory=str(random_inception_weights.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{INCEPTION_WEIGHTS_FILE}"
        extractor = InceptionExtractor(url=url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    cached = empty_hub_dir / "checkpoints" / INCEPTION_WEIGHTS_FILE
    assert not thread.is_alive()
    assert cached.is_file()
    assert cached.read_bytes() == random_inception_weights.read_bytes()
    assert extractor.weights_file == str(cached)
    assert extractor.weights_sha256 == metrics._sha256(random_inception_weights)


def test_inception_rejects_garbage_weights(tmp_path):
    weights = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    weights.write_bytes(b"not a state dict" * 64)
    with pytest.raises(RuntimeError, match="not a PyTorch state dict") as error:
        metrics.InceptionExtractor(weights)
    assert "weights_only" not in str(error.value)
    assert str(weights) in str(error.value)
