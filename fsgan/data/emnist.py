"""Reader for EMNIST balanced in the official gzip IDX files.

EMNIST balanced has 47 classes of 2,400 train and 400 test images (28x28, white
strokes on black). The train and test files are concatenated, train first, into
131,600 images with 2,800 per class. The IDX files store each image transposed,
so every image is transposed back to stand upright, then resized to 32x32.
"""

from __future__ import annotations

import gzip
import logging
import struct
import zlib
from pathlib import Path

import numpy as np

from fsgan.data.base import DatasetError, ImageDataset, resize_images

log = logging.getLogger(__name__)

# Label order of the balanced split: digits, upper-case letters, then the 11
# lower-case letters that differ in shape from their upper case.
CLASS_NAMES = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")

FILES = tuple(f"emnist-balanced-{part}-{kind}.gz" for part in ("train", "test")
              for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"))
RAW_FOLDER = "EMNIST/raw"  # torchvision's layout under its root folder

IDX_UBYTE = 0x08


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read a gzip IDX file of unsigned bytes with `ndim` dimensions.

    The header is two zero bytes, the type code (0x08 for unsigned bytes), the
    number of dimensions, then each dimension as a big-endian uint32.
    """
    try:
        with gzip.open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"cannot decompress {path}: {error}. The gzip file is truncated or "
                           "corrupt; delete it and download it again.") from error

    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"IDX file {path} is {len(data)} bytes long, shorter than its "
                           f"{header}-byte header; delete it and download it again.")
    magic = struct.unpack(">I", data[:4])[0]
    expected_magic = (IDX_UBYTE << 8) | ndim
    if magic != expected_magic:
        raise DatasetError(f"IDX file {path} has magic number {magic:#010x}, expected "
                           f"{expected_magic:#010x} (unsigned bytes, {ndim} dimensions); "
                           "check that the file name matches its content.")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    size = int(np.prod(shape))
    if len(data) - header != size:
        raise DatasetError(f"IDX file {path} declares shape {shape} ({size} bytes) but contains "
                           f"{len(data) - header} bytes of data; delete it and download it "
                           "again.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _read_part(paths: dict[str, Path], part: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = paths[f"emnist-balanced-{part}-images-idx3-ubyte.gz"]
    labels_path = paths[f"emnist-balanced-{part}-labels-idx1-ubyte.gz"]
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise DatasetError(f"{images_path} has {len(images)} images but {labels_path} has "
                           f"{len(labels)} labels; replace both with the official files.")
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DatasetError(f"{labels_path} contains label {labels.max()}, but EMNIST balanced "
                           f"has {len(CLASS_NAMES)} classes; is it a file of another split?")
    return images, labels


def load_emnist(paths: tuple[Path, ...]) -> ImageDataset:
    """Load the four EMNIST balanced files `paths` (in the order of FILES) as one dataset."""
    by_name = {path.name: path for path in paths}
    train_images, train_labels = _read_part(by_name, "train")
    test_images, test_labels = _read_part(by_name, "test")
    images = np.concatenate([train_images, test_images]).transpose(0, 2, 1)
    labels = np.concatenate([train_labels, test_labels]).astype(np.int64)
    log.info("read EMNIST balanced: %d train and %d test images", len(train_images),
             len(test_images))
    images = resize_images(np.ascontiguousarray(images[:, None]))
    return ImageDataset(name="emnist", images=images, labels=labels, class_names=CLASS_NAMES)
