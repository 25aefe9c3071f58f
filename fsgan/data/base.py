"""The in-memory dataset type shared by every reader, and its file form."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_SIZE = 32


class DatasetError(ValueError):
    """Raised for missing, corrupt or unusable dataset files; the message names the file."""


@dataclass(frozen=True)
class ImageDataset:
    """Images, integer labels and class names of one dataset.

    `images` is uint8 with shape (N, C, 32, 32), C = 1 for grayscale or 3 for RGB.
    `labels` is int64 with shape (N,), values in [0, len(class_names)).
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{self.images.shape}")
        if self.images.shape[1] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got {self.images.shape[1]}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels shape {self.labels.shape} does not match "
                             f"{len(self.images)} images")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def to_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Convert uint8 images (N, C, H, W) to float32 in [-1, 1] with 3 channels."""
    x = torch.as_tensor(images)
    if x.dtype == torch.uint8:
        x = x.float().div_(127.5).sub_(1.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Convert float images in [-1, 1] (N, 3, H, W) to uint8 (N, 3, H, W)."""
    x = images.detach().float().cpu().add(1.0).mul(127.5).round().clamp(0, 255)
    return x.to(torch.uint8).numpy()


def resize_images(images: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Resize uint8 images (N, C, H, W) to (N, C, 32, 32) with antialiased bilinear filtering.

    Works in chunks of `chunk` images to bound the memory of the float copy.
    """
    if images.shape[2:] == (IMAGE_SIZE, IMAGE_SIZE):
        return images
    resized = []
    for start in range(0, len(images), chunk):
        x = torch.from_numpy(images[start:start + chunk]).float()
        x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear",
                          align_corners=False, antialias=True)
        resized.append(x.round().clamp(0, 255).to(torch.uint8).numpy())
    return np.concatenate(resized)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers and NumPy arrays.

    Dataset pickles come from outside the project, and a general unpickler would run
    any callable a file names. This one rejects every global except NumPy's array
    and dtype constructors and `_codecs.encode` (protocol-2 pickles written by
    Python 3 use it for bytes). NumPy 2 pickles arrays through `numpy._core`, NumPy 1
    through `numpy.core`; both are allowed.
    """

    ALLOWED = {
        ("_codecs", "encode"), ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a data file")
        return super().find_class(module, name)


def load_array_pickle(file: IO[bytes], source: str) -> Any:
    """Unpickle dicts, lists, strings, numbers and NumPy arrays from `file`.

    Python 2 pickles (CIFAR) decode their byte strings as latin-1. Raises
    DatasetError naming `source` for a truncated, corrupt or disallowed pickle.
    """
    try:
        return _ArrayUnpickler(file, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, OSError) as error:
        raise DatasetError(f"cannot read pickle {source}: {error}. The file is truncated, "
                           "corrupt or not a data pickle; replace it with a good copy.") from error


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write arrays to `path` atomically, so an interrupted write leaves no file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, path)


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_dataset(dataset: ImageDataset, path: str | Path) -> None:
    save_npz(path, images=dataset.images, labels=dataset.labels,
             class_names=np.array(dataset.class_names), name=np.array(dataset.name))


def read_dataset(path: str | Path) -> ImageDataset:
    arrays = load_npz(path)
    return ImageDataset(name=str(arrays["name"]), images=arrays["images"],
                        labels=arrays["labels"].astype(np.int64),
                        class_names=tuple(str(c) for c in arrays["class_names"]))
