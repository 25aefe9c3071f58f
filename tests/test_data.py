import zipfile

import numpy as np
import pytest
import torch

from fsgan.data import DatasetError, check_dataset_files, load_dataset, to_float, to_uint8


def test_omniglot_small_counts(omniglot_small):
    assert omniglot_small.images.shape == (4840, 1, 32, 32)
    assert omniglot_small.num_classes == 242
    assert np.array_equal(np.bincount(omniglot_small.labels), np.full(242, 20))


def test_omniglot_small_shared_characters_once(omniglot_small):
    alphabets = {name.split("/")[0] for name in omniglot_small.class_names}
    assert len(alphabets) == 8
    assert len(set(omniglot_small.class_names)) == 242
    greek = [name for name in omniglot_small.class_names if name.startswith("Greek/")]
    assert len(greek) == 24


def test_omniglot_images_are_drawn_characters(omniglot_small):
    images = omniglot_small.images
    # White background with dark strokes: bright on average, with dark pixels present.
    assert images.mean() > 200
    assert (images.reshape(len(images), -1).min(axis=1) < 100).all()


def test_missing_data_folder_names_key(tmp_path):
    with pytest.raises(DatasetError, match="data.root") as error:
        check_dataset_files("omniglot_small", tmp_path / "absent")
    assert "images_background_small1.zip" in str(error.value)


def test_missing_zip_named(tmp_path, omniglot_dir):
    (tmp_path / "images_background_small1.zip").symlink_to(
        omniglot_dir / "images_background_small1.zip")
    with pytest.raises(DatasetError, match="images_background_small2.zip"):
        check_dataset_files("omniglot_small", tmp_path)


def test_unknown_dataset_lists_choices(tmp_path):
    with pytest.raises(DatasetError, match="omniglot_small"):
        check_dataset_files("mnist", tmp_path)


def test_truncated_zip_rejected(tmp_path, omniglot_dir):
    data = (omniglot_dir / "images_background_small1.zip").read_bytes()
    (tmp_path / "images_background_small1.zip").write_bytes(data[: len(data) // 2])
    (tmp_path / "images_background_small2.zip").symlink_to(
        omniglot_dir / "images_background_small2.zip")
    with pytest.raises(DatasetError, match="images_background_small1.zip"):
        load_dataset("omniglot_small", tmp_path)


def test_zip_without_images_rejected(tmp_path, omniglot_dir):
    with zipfile.ZipFile(tmp_path / "images_background_small1.zip", "w") as archive:
        archive.writestr("readme.txt", "not omniglot")
    (tmp_path / "images_background_small2.zip").symlink_to(
        omniglot_dir / "images_background_small2.zip")
    with pytest.raises(DatasetError, match="contains no"):
        load_dataset("omniglot_small", tmp_path)


def test_float_round_trip():
    images = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    x = to_float(images)
    assert x.shape == (1, 3, 16, 16)
    assert x.min().item() == -1.0
    assert x.max().item() == 1.0
    assert np.array_equal(to_uint8(x)[:, :1], images)


def test_to_float_keeps_float_input():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.equal(to_float(x), x)


def test_corrupt_zip_member_rejected(tmp_path, omniglot_dir):
    path = tmp_path / "images_background_small1.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images_background_small1/Greek/character01/0394_01.png",
                         bytes(range(256)) * 64)
    data = bytearray(path.read_bytes())
    member = "images_background_small1/Greek/character01/0394_01.png"
    start = data.index(b"PK\x03\x04") + 30 + len(member)
    data[start + 10:start + 40] = b"\xff" * 30  # damage the deflate stream, keep the headers
    path.write_bytes(bytes(data))
    (tmp_path / "images_background_small2.zip").symlink_to(
        omniglot_dir / "images_background_small2.zip")
    with pytest.raises(DatasetError, match="images_background_small1.zip"):
        load_dataset("omniglot_small", tmp_path)
