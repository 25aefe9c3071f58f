from dataclasses import asdict

import numpy as np
import pytest
import torch

from fsgan.finetune import MODES, build_models, load_for_finetuning
from fsgan.gan import GanTrainSettings, ModelConfig, train_gan
from fsgan.runs import save_checkpoint

MODEL = ModelConfig(num_classes=6, ngf=32, ndf=4, z_dim=8, film_activation="relu")
SETTINGS = GanTrainSettings(iterations=1, eval_every=1, gamma=1.0, alpha=1.0, augment_p=0.5,
                            sigma_train=1.0, sigma_sample=1.0, lr=1e-2, betas=(0.9, 0.9),
                            weight_decay=1e-6, batch_size=4)
EXPECTED_GENERATOR = {
    "embed": lambda name: ".film.embedding." in name,
    "linear": lambda name: ".film.embedding." in name or ".film.linear." in name,
    "all": lambda name: True,
}
EXPECTED_DISCRIMINATOR = {
    "embed": lambda name: name.startswith("embedding."),
    "linear": lambda name: name.split(".")[0] in ("embedding", "psi", "phi", "latent_head"),
    "all": lambda name: True,
}


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    torch.manual_seed(0)
    generator, discriminator = build_models(asdict(MODEL))
    path = tmp_path_factory.mktemp("pretrain") / "model.pt"
    save_checkpoint(path, {"generator": generator.state_dict(),
                           "discriminator": discriminator.state_dict(),
                           "model_config": asdict(MODEL)})
    return path


def snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("generator_mode", MODES)
@pytest.mark.parametrize("discriminator_mode", MODES)
def test_finetune_mode_trains_only_its_parameters(pretrained, tmp_path, generator_mode,
                                                  discriminator_mode):
    device = torch.device("cpu")
    generator, discriminator, trainable = load_for_finetuning(
        pretrained, generator_mode, discriminator_mode, device)
    before = {"generator": snapshot(generator), "discriminator": snapshot(discriminator)}

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (8, 1, 32, 32), dtype=np.uint8)
    labels = np.array([4, 5] * 4)  # novel classes only
    unlabelled = rng.randint(0, 256, (8, 1, 32, 32), dtype=np.uint8)
    train_gan(generator, discriminator, images=images, labels=labels, unlabelled=unlabelled,
              settings=SETTINGS, evaluate=lambda g: 1.0, model_config=MODEL, out_dir=tmp_path,
              seed=0, device=device)

    for part, model, rule in (("generator", generator, EXPECTED_GENERATOR[generator_mode]),
                              ("discriminator", discriminator,
                               EXPECTED_DISCRIMINATOR[discriminator_mode])):
        expected = sorted(name for name, _ in model.named_parameters() if rule(name))
        assert sorted(trainable[part]) == expected
        for name, value in model.named_parameters():
            unchanged = torch.equal(value, before[part][name])
            if name in expected:
                assert not unchanged, f"{part} parameter {name} should have trained"
            else:
                assert unchanged, f"{part} parameter {name} should be frozen"


def test_finetune_load_is_strict(pretrained, tmp_path):
    checkpoint = torch.load(pretrained, weights_only=True)
    checkpoint["generator"]["extra.weight"] = torch.zeros(1)
    broken = tmp_path / "broken.pt"
    torch.save(checkpoint, broken)
    with pytest.raises(RuntimeError, match="extra.weight"):
        load_for_finetuning(broken, "linear", "embed", torch.device("cpu"))


def test_finetune_rejects_unknown_mode(pretrained):
    with pytest.raises(ValueError, match="'head'"):
        load_for_finetuning(pretrained, "head", "embed", torch.device("cpu"))


def test_gan_training_repeats_with_seed(pretrained, tmp_path):
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, (8, 1, 32, 32), dtype=np.uint8)
    labels = np.array([0, 1] * 4)
    states = []
    for run in range(2):
        torch.manual_seed(123)
        generator, discriminator = build_models(asdict(MODEL))
        settings = GanTrainSettings(**{**asdict(SETTINGS), "iterations": 3})
        train_gan(generator, discriminator, images=images, labels=labels, unlabelled=None,
                  settings=settings, evaluate=lambda g: 1.0, model_config=MODEL,
                  out_dir=tmp_path / str(run), seed=7, device=torch.device("cpu"))
        states.append(generator.state_dict())
    for name in states[0]:
        assert torch.equal(states[0][name], states[1][name]), name


@pytest.mark.parametrize(("keep_initial", "expected_iteration"), [(False, 2), (True, 0)])
def test_initial_weights_candidate_only_when_asked(tmp_path, keep_initial, expected_iteration):
    rng = np.random.RandomState(2)
    images = rng.randint(0, 256, (8, 1, 32, 32), dtype=np.uint8)
    scores = iter([0.0, 5.0, 3.0])  # the starting weights score best
    generator, discriminator = build_models(asdict(MODEL))
    settings = GanTrainSettings(**{**asdict(SETTINGS), "iterations": 2})
    summary = train_gan(generator, discriminator, images=images, labels=np.array([0, 1] * 4),
                        unlabelled=None, settings=settings, evaluate=lambda g: next(scores),
                        model_config=MODEL, out_dir=tmp_path, seed=0,
                        device=torch.device("cpu"), keep_initial=keep_initial)
    assert summary["best_iteration"] == expected_iteration
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert saved["iteration"] == expected_iteration
