"""The in-memory dataset type shared by every reader, and its file form."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

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
