"""Reader for CIFAR-100 in its official Python form.

The archive `cifar-100-python.tar.gz` contains `cifar-100-python/{train,test,meta}`,
Python 2 pickles. `train` and `test` map "data" to uint8 rows of 3072 values
(1024 red, 1024 green, 1024 blue, each 32x32 row-major) and "fine_labels" to the
100 fine classes. `meta` maps "fine_label_names" to their names. The reader takes
either the archive or its extracted folder, and concatenates train (500 per
class) and test (100 per class) into 600 images per class.
"""

from __future__ import annotations

import logging
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from fsgan.data.base import IMAGE_SIZE, DatasetError, ImageDataset, load_array_pickle

log = logging.getLogger(__name__)

ARCHIVE = "cifar-100-python.tar.gz"
FOLDER = "cifar-100-python"
MEMBERS = ("train", "test", "meta")


def _read_members(path: Path) -> dict[str, Any]:
    """Unpickle train, test and meta from the archive or the extracted folder `path`."""
    if path.is_dir():
        return {member: _unpickle(lambda member=member: (path / member).open("rb"),
                                  path / member)
                for member in MEMBERS}
    try:
        with tarfile.open(path, "r:gz") as archive:
            return {member: _unpickle(lambda member=member: _extract(archive, member),
                                      f"{path}:{FOLDER}/{member}")
                    for member in MEMBERS}
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DatasetError(f"cannot read CIFAR-100 archive {path}: {error}. The file is "
                           "truncated or corrupt; delete it and download it again.") from error


def _extract(archive: tarfile.TarFile, member: str) -> IO[bytes]:
    file = archive.extractfile(f"{FOLDER}/{member}")
    if file is None:
        raise KeyError(member)
    return file


def _unpickle(open_member: Callable[[], IO[bytes]], source: Path | str) -> Any:
    try:
        with open_member() as file:
            content = load_array_pickle(file, str(source))
    except (KeyError, FileNotFoundError) as error:
        raise DatasetError(f"CIFAR-100 file {source} is missing; the archive or folder must "
                           f"contain {FOLDER}/{{{','.join(MEMBERS)}}}.") from error
    if not isinstance(content, dict):
        raise DatasetError(f"CIFAR-100 file {source} contains a {type(content).__name__}, "
                           "expected a dict; is it the Python version of CIFAR-100?")
    return content


def _images_and_labels(part: dict[str, Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.asarray(part["data"], dtype=np.uint8)
        labels = np.asarray(part["fine_labels"], dtype=np.int64)
    except KeyError as error:
        raise DatasetError(f"CIFAR-100 {source} has no key {error}; is it the Python "
                           "version of CIFAR-100?") from error
    if data.ndim != 2 or data.shape[1] != 3 * IMAGE_SIZE * IMAGE_SIZE \
            or len(data) != len(labels):
        raise DatasetError(f"CIFAR-100 {source} has data of shape {data.shape} and "
                           f"{len(labels)} labels, expected (N, 3072) and N labels.")
    return data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE), labels


def load_cifar100(paths: tuple[Path, ...]) -> ImageDataset:
    """Load CIFAR-100 from `paths`: (archive,) or the extracted (train, test, meta) files."""
    source = paths[0] if len(paths) == 1 else paths[0].parent
    members = _read_members(source)
    train_images, train_labels = _images_and_labels(members["train"], f"{source} train")
    test_images, test_labels = _images_and_labels(members["test"], f"{source} test")
    names = members["meta"].get("fine_label_names")
    if names is None or len(names) != 100:
        raise DatasetError(f"CIFAR-100 {source} meta has no list of 100 fine_label_names.")
    labels = np.concatenate([train_labels, test_labels])
    if labels.min() < 0 or labels.max() >= len(names):
        raise DatasetError(f"CIFAR-100 {source} has fine labels outside 0-99.")
    log.info("read CIFAR-100: %d train and %d test images", len(train_labels), len(test_labels))
    return ImageDataset(name="cifar100", images=np.concatenate([train_images, test_images]),
                        labels=labels, class_names=tuple(str(name) for name in names))
