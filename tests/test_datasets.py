"""Dataset readers, downloads, image folders and split files, on small files each test writes."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import struct
import subprocess
import tarfile
import threading
import zipfile
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fsgan.data import DATASETS, DatasetError, load_dataset
from fsgan.data import emnist as emnist_module
from fsgan.data.base import read_dataset
from fsgan.data.download import Download
from fsgan.data.inputs import check_data_settings, dataset_input_files
from fsgan.data.registry import download_dataset, missing_downloads
from fsgan.pipeline import prepare_dataset, write_class_split, write_novel_split
from fsgan.splitfiles import export_split_files, split_file_name
from fsgan.splits import split_classes, split_novel

# --- file writers in each official format -------------------------------------------------


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Encode a uint8 array as IDX: zero bytes, type 0x08, ndim, big-endian dimensions."""
    magic = (0x08 << 8) | array.ndim if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_emnist(root: Path, per_class: tuple[int, int] = (2, 1), first_image=None) -> None:
    """Write the four EMNIST balanced files with `per_class` train and test images per class."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for part, count in zip(("train", "test"), per_class, strict=True):
        labels = np.tile(np.arange(47), count).astype(np.uint8)
        images = rng.randint(0, 256, (len(labels), 28, 28)).astype(np.uint8)
        if part == "train" and first_image is not None:
            images[0] = first_image
        (root / f"emnist-balanced-{part}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(idx_bytes(images)))
        (root / f"emnist-balanced-{part}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(idx_bytes(labels)))


def write_cifar(root: Path, extracted: bool = False) -> dict[str, np.ndarray]:
    """Write a CIFAR-100 archive (or folder) with 3 classes of 2 train and 1 test image."""
    rng = np.random.RandomState(1)
    parts = {}
    for name, count in (("train", 2), ("test", 1)):
        labels = np.repeat([4, 7, 99], count)
        parts[name] = {"data": rng.randint(0, 256, (len(labels), 3072)).astype(np.uint8),
                       "fine_labels": labels.tolist(), "coarse_labels": [0] * len(labels)}
    parts["meta"] = {"fine_label_names": [f"class{i}" for i in range(100)]}
    contents = {name: pickle.dumps(value, protocol=2) for name, value in parts.items()}
    if extracted:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for name, data in contents.items():
            (folder / name).write_bytes(data)
    else:
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(root / "cifar-100-python.tar.gz", "w:gz") as archive:
            for name, data in contents.items():
                info = tarfile.TarInfo(f"cifar-100-python/{name}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return parts


def png_bytes(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (105, 105), value).save(buffer, format="PNG")
    return buffer.getvalue()


def write_omniglot_zip(path: Path, set_name: str, alphabets: dict[str, int]) -> None:
    """Write an Omniglot-style zip: `alphabets` maps each alphabet to its character count."""
    with zipfile.ZipFile(path, "w") as archive:
        for alphabet, characters in alphabets.items():
            for character in range(1, characters + 1):
                for drawer in range(1, 3):
                    archive.writestr(f"{set_name}/{alphabet}/character{character:02d}/"
                                     f"{character:02d}{drawer:02d}_{drawer:02d}.png",
                                     png_bytes(10 * character))


def write_image(path: Path, mode: str, size: tuple[int, int], value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "I;16":
        image = Image.fromarray(np.full(size[::-1], value * 257, dtype=np.uint16))
    elif mode == "RGBA":
        image = Image.new(mode, size, (value, value, value, 255))
    elif mode == "RGB":
        image = Image.new(mode, size, (value, value, value))
    else:
        image = Image.new(mode, size, value)
    image.save(path)


def data_settings(**overrides) -> dict:
    settings = {"dataset": "digits", "root": "unused", "download": False, "n_novel": None,
                "novel_classes": None, "supports_in_valid": True, "split_files": None}
    return {**settings, **overrides}


# --- EMNIST ---------------------------------------------------------------------------------


def test_emnist_concatenates_train_and_test(tmp_path):
    write_emnist(tmp_path)
    dataset = load_dataset("emnist", tmp_path)
    assert dataset.images.shape == (47 * 3, 1, 32, 32)
    assert dataset.class_names == tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")
    assert np.array_equal(np.bincount(dataset.labels), np.full(47, 3))
    assert np.array_equal(dataset.labels[:47], np.arange(47))


def test_emnist_transposes_to_upright(tmp_path):
    upright = np.zeros((28, 28), dtype=np.uint8)
    upright[:4, :] = 255  # a bar along the top edge
    write_emnist(tmp_path, first_image=upright.T)  # the IDX files store images transposed
    image = load_dataset("emnist", tmp_path).images[0, 0]
    assert image[:3].mean() > 200
    assert image[8:, :3].mean() < 30


def test_emnist_raw_layout_accepted(tmp_path):
    write_emnist(tmp_path / "EMNIST" / "raw")
    assert len(load_dataset("emnist", tmp_path).labels) == 47 * 3


def test_emnist_missing_names_both_layouts(tmp_path):
    with pytest.raises(DatasetError) as error:
        load_dataset("emnist", tmp_path)
    message = str(error.value)
    assert "emnist-balanced-test-labels-idx1-ubyte.gz" in message
    assert "EMNIST/raw/emnist-balanced-train-images-idx3-ubyte.gz" in message
    assert "data.download" in message


@pytest.mark.parametrize("damage", ["truncate", "not gzip"])
def test_idx_damaged_gzip_rejected(tmp_path, damage):
    write_emnist(tmp_path)
    path = tmp_path / "emnist-balanced-train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200] if damage == "truncate" else b"plain text " * 9)
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        load_dataset("emnist", tmp_path)
    assert path.name in str(error.value)


def test_idx_wrong_magic_rejected(tmp_path):
    write_emnist(tmp_path)
    path = tmp_path / "emnist-balanced-test-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((47, 28, 28)), magic=0x0801)))
    with pytest.raises(DatasetError, match="magic number 0x00000801, expected 0x00000803"):
        load_dataset("emnist", tmp_path)


def test_idx_short_data_rejected(tmp_path):
    write_emnist(tmp_path)
    path = tmp_path / "emnist-balanced-test-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(47))[:-5]))
    with pytest.raises(DatasetError, match=r"declares shape \(47,\)"):
        load_dataset("emnist", tmp_path)


@pytest.mark.parametrize(("seed", "expected"), [
    (0, "0 3 9 J L N a e q t"),
    (1, "0 5 8 9 B C F G b n"),
    (2, "7 8 B F I M V Y f t"),
    (3, "0 3 8 A J L O e g h"),
    (4, "1 5 8 9 N U a e f t"),
])
def test_emnist_novel_classes_by_seed(seed, expected):
    names = emnist_module.CLASS_NAMES
    labels = np.repeat(np.arange(len(names)), 2)
    split = split_classes(labels, len(names), DATASETS["emnist"].n_novel, seed)
    assert " ".join(names[c] for c in split.novel) == expected


@pytest.mark.parametrize(("per_class", "valid", "test"), [(2800, 2240, 560), (20, 16, 4)])
def test_split_sizes_per_class(per_class, valid, test):
    labels = np.repeat(np.arange(47), per_class)
    novel = split_classes(labels, 47, 10, seed=0).novel
    split = split_novel(labels, novel, 5)
    for c in novel:
        assert (labels[split.valid] == c).sum() == valid
        assert (labels[split.test] == c).sum() == test


def test_supports_nested_and_classes_disjoint():
    labels = np.repeat(np.arange(47), 40)
    classes = split_classes(labels, 47, 10, seed=3)
    assert len(np.intersect1d(classes.seen, classes.novel)) == 0
    assert not np.isin(labels[classes.train], classes.novel).any()
    previous = np.array([], dtype=np.int64)
    for k in (1, 5, 10, 15):
        supports = split_novel(labels, classes.novel, k).supports
        assert np.isin(previous, supports).all()
        previous = supports


def test_omniglot_real_split_sizes(omniglot_small):
    novel = split_classes(omniglot_small.labels, omniglot_small.num_classes, 32, seed=0).novel
    split = split_novel(omniglot_small.labels, novel, 5)
    assert np.array_equal(np.bincount(omniglot_small.labels[split.valid])[novel],
                          np.full(32, 16))
    assert np.array_equal(np.bincount(omniglot_small.labels[split.test])[novel],
                          np.full(32, 4))


# --- Omniglot full, CIFAR-100, digits ------------------------------------------------------


def test_omniglot_evaluation_labels_follow_background(tmp_path):
    write_omniglot_zip(tmp_path / "images_background.zip", "images_background",
                       {"Alpha": 2, "Beta": 1})
    write_omniglot_zip(tmp_path / "images_evaluation.zip", "images_evaluation",
                       {"Gamma": 3})
    dataset = load_dataset("omniglot", tmp_path)
    assert dataset.class_names == ("Alpha/character01", "Alpha/character02", "Beta/character01",
                                   "Gamma/character01", "Gamma/character02",
                                   "Gamma/character03")
    assert np.array_equal(np.bincount(dataset.labels), np.full(6, 2))
    # The evaluation classes start right after the 3 background classes, as 964 does in
    # the full set.
    assert dataset.labels[dataset.class_names.index("Gamma/character01") * 2] == 3


def test_cifar_archive_and_folder_agree(tmp_path):
    parts = write_cifar(tmp_path / "archive")
    write_cifar(tmp_path / "folder", extracted=True)
    from_archive = load_dataset("cifar100", tmp_path / "archive")
    from_folder = load_dataset("cifar100", tmp_path / "folder")
    assert from_archive.images.shape == (9, 3, 32, 32)
    assert np.array_equal(from_archive.images, from_folder.images)
    assert np.array_equal(from_archive.labels, [4, 4, 7, 7, 99, 99, 4, 7, 99])
    assert from_archive.class_names[99] == "class99"
    first = parts["train"]["data"][0]
    assert from_archive.images[0, 0, 0, 1] == first[1]  # red plane, row 0, column 1
    assert from_archive.images[0, 2, 1, 0] == first[2048 + 32]  # blue plane, row 1


def test_cifar_truncated_archive_rejected(tmp_path):
    write_cifar(tmp_path)
    path = tmp_path / "cifar-100-python.tar.gz"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DatasetError, match="cifar-100-python"):
        load_dataset("cifar100", tmp_path)


def test_pickle_with_code_rejected(tmp_path):
    class RunsCode:
        def __reduce__(self):
            return (print, ("should not run",))

    folder = tmp_path / "cifar-100-python"
    write_cifar(tmp_path, extracted=True)
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": RunsCode()}))
    with pytest.raises(DatasetError, match="not allowed"):
        load_dataset("cifar100", tmp_path)


def test_digits_need_no_file(tmp_path):
    dataset = load_dataset("digits", tmp_path / "absent")
    assert dataset.images.shape == (1797, 1, 32, 32)
    assert dataset.num_classes == 10
    check_data_settings(data_settings(root=str(tmp_path / "absent")), [0, 1], [5, 10])
    assert dataset_input_files(data_settings()) == []


def test_class_size_checked_against_largest_k(tmp_path):
    # Omniglot has 20 images per class: k = 15 fits (16 valid, 4 test), k = 16 does not.
    settings = data_settings(dataset="omniglot", download=True, root=str(tmp_path))
    check_data_settings(settings, [0], [5, 15])
    with pytest.raises(DatasetError, match=r"20 images, too few for k=16.*at least 22"):
        check_data_settings(settings, [0], [5, 16])


# --- a user's image folder ------------------------------------------------------------------


@pytest.fixture
def image_folder(tmp_path):
    """Three classes in mixed formats, modes and sizes, 10 images each."""
    root = tmp_path / "images"
    formats = [("png", "L"), ("jpg", "RGB"), ("bmp", "RGB"), ("gif", "P"), ("tif", "I;16"),
               ("webp", "RGBA"), ("png", "1"), ("png", "RGBA"), ("tiff", "RGB"), ("jpeg", "L")]
    for name in ("zebra", "Apple", "mango"):
        for index, (suffix, mode) in enumerate(formats):
            write_image(root / name / f"{index}.{suffix}", mode, (20 + 7 * index, 40),
                        value=100 + index)
    return root


def test_folder_reads_mixed_formats(image_folder):
    dataset = load_dataset("folder", image_folder)
    assert dataset.class_names == ("Apple", "mango", "zebra")
    assert dataset.images.shape == (30, 1, 32, 32)
    assert np.array_equal(np.bincount(dataset.labels), [10, 10, 10])
    # The 16-bit TIFF (value 104 * 257) scales to 104; opaque RGBA keeps its value.
    assert dataset.images[4, 0, 16, 16] == 104
    assert dataset.images[7, 0, 16, 16] == 107


def test_folder_with_color_keeps_three_channels(image_folder):
    Image.new("RGB", (32, 32), (200, 10, 10)).save(image_folder / "mango" / "red.png")
    dataset = load_dataset("folder", image_folder)
    assert dataset.images.shape == (31, 3, 32, 32)
    red = dataset.images[dataset.labels == 1][-1]
    assert tuple(red[:, 0, 0]) == (200, 10, 10)


def test_folder_transparency_over_white(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(tmp_path / "a" / "x.png")
    dataset = load_dataset("folder", tmp_path)
    assert dataset.images.min() == 255


@pytest.mark.parametrize(("content", "name"), [
    (b"just some notes", "notes.txt"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png"),
])
def test_folder_bad_file_named(image_folder, content, name):
    (image_folder / "mango" / name).write_bytes(content)
    with pytest.raises(DatasetError, match=f"cannot read image .*mango/{name}"):
        load_dataset("folder", image_folder)


def test_folder_empty_class_named(image_folder):
    (image_folder / "pear").mkdir()
    (image_folder / "pear" / ".DS_Store").write_bytes(b"")
    with pytest.raises(DatasetError, match="pear.* contains no image files"):
        check_data_settings(data_settings(dataset="folder", root=str(image_folder),
                                          n_novel=1), [0], [1])


def test_folder_case_duplicates_named(image_folder):
    write_image(image_folder / "apple" / "1.png", "L", (8, 8))
    with pytest.raises(DatasetError, match="'Apple' and 'apple'"):
        check_data_settings(data_settings(dataset="folder", root=str(image_folder),
                                          n_novel=1), [0], [1])


def test_folder_unknown_novel_class(image_folder):
    settings = data_settings(dataset="folder", root=str(image_folder),
                             novel_classes=["Mango", "kiwi"])
    with pytest.raises(DatasetError, match=r"'Mango' \(did you mean 'mango'\?\), 'kiwi'"):
        check_data_settings(settings, [0], [1])


def test_folder_small_class_named(image_folder):
    # 10 images: floor(0.8 * 10) = 8 valid, so k = 7 fits and k = 8 does not.
    settings = data_settings(dataset="folder", root=str(image_folder), n_novel=1)
    check_data_settings(settings, [0], [7])
    with pytest.raises(DatasetError, match=r"class 'Apple' .* 10 images, too few for k=8"):
        check_data_settings(settings, [0], [2, 8])


def test_folder_needs_n_novel(image_folder):
    with pytest.raises(DatasetError, match="data.n_novel"):
        check_data_settings(data_settings(dataset="folder", root=str(image_folder)), [0], [1])


def test_named_novel_classes_every_seed(image_folder, tmp_path):
    prepare_dataset("folder", str(image_folder), str(tmp_path / "dataset.npz"))
    for seed in (0, 1, 2):
        output = tmp_path / f"classes{seed}.npz"
        write_class_split(str(tmp_path / "dataset.npz"), 1, seed, str(output),
                          novel_classes=["zebra"])
        classes = np.load(output)
        assert classes["novel"].tolist() == [2]
        assert classes["seen"].tolist() == [0, 1]
        assert len(classes["train"]) == 20


# --- downloads from a local HTTP server -----------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """Serve a temporary folder on 127.0.0.1; yield (folder, base URL)."""
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def use_downloads(monkeypatch, name: str, downloads: tuple[Download, ...]) -> None:
    monkeypatch.setitem(DATASETS, name, replace(DATASETS[name], downloads=downloads))


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_download_fetches_and_verifies(http_folder, tmp_path, monkeypatch):
    served, url = http_folder
    contents = {}
    for name in ("images_background_small1.zip", "images_background_small2.zip"):
        write_omniglot_zip(served / name, name[:-4], {"Alpha": 1})
        contents[name] = (served / name).read_bytes()
    use_downloads(monkeypatch, "omniglot_small", tuple(
        Download(f"{url}/{name}", name, sha256(data)) for name, data in contents.items()))
    root = tmp_path / "data"
    assert len(missing_downloads("omniglot_small", root)) == 2

    download_dataset("omniglot_small", root)
    for name, data in contents.items():
        assert (root / name).read_bytes() == data
    assert sorted(path.name for path in root.iterdir()) == sorted(contents)
    assert missing_downloads("omniglot_small", root) == ()
    assert load_dataset("omniglot_small", root).num_classes == 1


def test_download_checksum_mismatch_leaves_nothing(http_folder, tmp_path, monkeypatch):
    served, url = http_folder
    (served / "cifar-100-python.tar.gz").write_bytes(b"not the archive")
    use_downloads(monkeypatch, "cifar100", (
        Download(f"{url}/cifar-100-python.tar.gz", "cifar-100-python.tar.gz",
                 sha256(b"the archive")),))
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="expected .* the file was deleted") as error:
        download_dataset("cifar100", root)
    assert "cifar-100-python.tar.gz" in str(error.value)
    assert list(root.iterdir()) == []


def test_download_without_network_names_files(tmp_path, monkeypatch):
    # Port 1 on the loopback interface has no server, so the connection is refused.
    use_downloads(monkeypatch, "cifar100", (
        Download("http://127.0.0.1:1/cifar-100-python.tar.gz", "cifar-100-python.tar.gz",
                 sha256(b"")),))
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="download of .* failed") as error:
        download_dataset("cifar100", root)
    message = str(error.value)
    assert "cifar-100-python.tar.gz" in message
    assert str(root) in message
    assert "cs.toronto.edu" in message
    assert list(root.iterdir()) == []


def test_download_extracts_archive_members(http_folder, tmp_path, monkeypatch):
    served, url = http_folder
    write_emnist(tmp_path / "emnist")
    with zipfile.ZipFile(served / "gzip.zip", "w") as archive:
        for path in (tmp_path / "emnist").iterdir():
            archive.write(path, f"gzip/{path.name}")
        archive.writestr("gzip/emnist-letters-train-images-idx3-ubyte.gz", b"other split")
    use_downloads(monkeypatch, "emnist", (
        Download(f"{url}/gzip.zip", "emnist-gzip.zip", sha256((served / "gzip.zip").read_bytes()),
                 members=tuple(f"gzip/{name}" for name in emnist_module.FILES)),))
    root = tmp_path / "data"
    download_dataset("emnist", root)
    assert sorted(path.name for path in root.iterdir()) == sorted(emnist_module.FILES)
    assert len(load_dataset("emnist", root).labels) == 47 * 3


# --- split files ----------------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path):
    """Protocol splits of a small EMNIST for seeds 0, 1 and ks 2, 3, exported to split files."""
    write_emnist(tmp_path / "emnist", per_class=(4, 2))
    dataset_path = str(tmp_path / "dataset.npz")
    prepare_dataset("emnist", str(tmp_path / "emnist"), dataset_path)
    out = tmp_path / "splits"
    indices = {}
    for seed in (0, 1):
        classes = str(tmp_path / f"classes{seed}.npz")
        write_class_split(dataset_path, 10, seed, classes)
        for k in (2, 3):
            split = str(tmp_path / f"split{seed}_{k}.npz")
            write_novel_split(dataset_path, classes, k, True, split)
            export_split_files(dataset_path, classes, split, seed, k, str(out))
            indices[seed, k] = {"train": np.load(classes)["train"], **np.load(split)}
    return read_dataset(dataset_path), indices, out


def test_split_files_round_trip(exported, tmp_path):
    original, indices, folder = exported
    imported_path = str(tmp_path / "imported.npz")
    prepare_dataset("emnist", "unused", imported_path, split_files=str(folder))
    imported = read_dataset(imported_path)
    assert imported.class_names == original.class_names
    for (seed, k), expected in indices.items():
        classes = str(tmp_path / f"imported_classes{seed}.npz")
        split = str(tmp_path / f"imported_split{seed}_{k}.npz")
        write_class_split(imported_path, 10, seed, classes, imported=True)
        write_novel_split(imported_path, classes, k, True, split, seed=seed, imported=True)
        result = {"train": np.load(classes)["train"], **np.load(split)}
        for name in ("train", "supports", "valid", "test"):
            assert np.array_equal(imported.images[result[name]],
                                  original.images[expected[name]]), (seed, k, name)
            assert np.array_equal(imported.labels[result[name]],
                                  original.labels[expected[name]]), (seed, k, name)
    # The seeds' files share storage: as many images as the dataset itself.
    assert len(imported.labels) == len(original.labels)


def test_split_file_layout(exported):
    original, indices, folder = exported
    with (folder / split_file_name("emnist", 1, 3, "supports")).open("rb") as file:
        content = pickle.load(file)
    assert content["images"].shape == (30, 32, 32, 1)
    assert content["images"].dtype == np.uint8
    assert content["labels"].dtype == np.int64
    assert np.array_equal(content["images"][..., 0], original.images[indices[1, 3]["supports"], 0])


def rewrite(path: Path, **changes) -> None:
    with path.open("rb") as file:
        content = pickle.load(file)
    content.update(changes)
    path.write_bytes(pickle.dumps(content))


def load_content(path: Path) -> dict:
    with path.open("rb") as file:
        return pickle.load(file)


def assert_import_fails(folder: Path, tmp_path: Path, pattern: str) -> None:
    output = tmp_path / "imported.npz"
    with pytest.raises(DatasetError, match=pattern):
        prepare_dataset("emnist", "unused", str(output), split_files=str(folder))
    assert not output.exists()


def test_import_rejects_seen_class_in_novel(exported, tmp_path):
    _, _, folder = exported
    path = folder / split_file_name("emnist", 0, 2, "valid")
    train_label = load_content(folder / split_file_name("emnist", 0, 2, "train"))["labels"][0]
    labels = load_content(path)["labels"].copy()
    labels[0] = train_label
    rewrite(path, labels=labels)
    assert_import_fails(folder, tmp_path, "both in train .* and in valid")


def test_import_rejects_wrong_support_count(exported, tmp_path):
    _, _, folder = exported
    path = folder / split_file_name("emnist", 1, 3, "supports")
    content = load_content(path)
    rewrite(path, images=content["images"][1:], labels=content["labels"][1:])
    assert_import_fails(folder, tmp_path, "supports, expected k=3")


def test_import_rejects_train_differing_across_k(exported, tmp_path):
    _, _, folder = exported
    path = folder / split_file_name("emnist", 0, 3, "train")
    content = load_content(path)
    rewrite(path, images=content["images"][::-1].copy(), labels=content["labels"][::-1].copy())
    assert_import_fails(folder, tmp_path, "same for every k")


def test_import_rejects_bad_shapes(exported, tmp_path):
    _, _, folder = exported
    path = folder / split_file_name("emnist", 0, 2, "test")
    content = load_content(path)
    rewrite(path, images=content["images"][:, :28, :28])
    assert_import_fails(folder, tmp_path, "images have shape")
    rewrite(path, images=content["images"], labels=content["labels"][:-1])
    assert_import_fails(folder, tmp_path, "one per image")


def test_import_checks_configured_files(exported):
    _, _, folder = exported
    settings = data_settings(dataset="emnist", split_files=str(folder))
    check_data_settings(settings, [0, 1], [2, 3])
    with pytest.raises(DatasetError, match="emnist-s2-32px-k2-train.pkl"):
        check_data_settings(settings, [0, 2], [2])



# --- the workflow: parse-time checks, downloads, export and import --------------------------

from tests import test_workflow as workflow  # noqa: E402


def run_workflow(workdir: Path, data: dict, *arguments: str, seeds=(0, 1), ks=(5,)):
    """Run Snakemake with configs/tiny.yaml and `data`; targets may be among `arguments`."""
    workflow.copy_workflow(workdir, Path(data.get("root", "unused")),
                           {"data": data, "seeds": list(seeds), "ks": list(ks)})
    return subprocess.run([*workflow.SNAKEMAKE, *arguments, "--cores", "2", "--configfile",
                           "configs/tiny.yaml", "local.yaml"], cwd=workdir, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize(("data", "message"), [
    ({"dataset": "emnist"}, "EMNIST/raw/emnist-balanced-train-images-idx3-ubyte.gz"),
    ({"dataset": "digits", "novel_classes": ["3", "x"]}, "novel class 'x'"),
])
def test_workflow_stops_at_parse_time(tmp_path, data, message):
    result = run_workflow(tmp_path, {"root": str(tmp_path / "data"), **data}, "--dry-run")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_workflow_corrupt_image_stops_in_prepare(tmp_path, image_folder):
    (image_folder / "zebra" / "notes.txt").write_text("not an image")
    workdir = tmp_path / "run"
    workdir.mkdir()
    result = run_workflow(workdir, {"dataset": "folder", "root": str(image_folder),
                                    "n_novel": 1}, ks=(2,))
    assert result.returncode != 0
    assert "zebra/notes.txt" in result.stdout + result.stderr
    assert not (workdir / "results" / "data" / "dataset.npz").exists()
    assert not (workdir / "results" / "classifier").exists()


def test_workflow_plans_download(tmp_path):
    root = tmp_path / "data"
    result = run_workflow(tmp_path, {"dataset": "cifar100", "root": str(root),
                                     "download": True}, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = workflow.planned_jobs(result.stdout)
    assert "download_dataset" in jobs
    assert "prepare_dataset" in jobs
    assert not root.exists()


def test_workflow_plans_export(tmp_path):
    result = run_workflow(tmp_path, {"dataset": "digits"}, "export_splits", "--dry-run",
                          seeds=(0, 1), ks=(5, 10))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = workflow.planned_jobs(result.stdout)
    assert sorted(job for job in jobs if job.startswith("export_split ")) == [
        f"export_split seed={seed}, k={k}" for seed in (0, 1) for k in (10, 5)]
    assert not any(job.startswith("train_classifier") for job in jobs)


def test_workflow_runs_on_imported_splits(tmp_path, exported):
    original, indices, folder = exported
    workdir = tmp_path / "run"
    workdir.mkdir()
    targets = ["results/split/seed1/classes.npz", "results/split/seed1/k3/split.npz"]
    result = run_workflow(workdir, {"dataset": "emnist", "split_files": str(folder)}, *targets,
                          seeds=(1,), ks=(3,))
    assert result.returncode == 0, result.stderr[-3000:]
    imported = read_dataset(workdir / "results/data/dataset.npz")
    after = {"train": np.load(workdir / targets[0])["train"], **np.load(workdir / targets[1])}
    for name, expected in indices[1, 3].items():
        assert np.array_equal(imported.images[after[name]], original.images[expected]), name
        assert np.array_equal(imported.labels[after[name]], original.labels[expected]), name
