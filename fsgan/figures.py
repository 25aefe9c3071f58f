"""Figures: image grids and accuracy bar charts."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def image_grid(images: np.ndarray, rows: int, columns: int, padding: int = 2) -> np.ndarray:
    """Tile uint8 images (rows * columns, C, H, W) row by row into one (H', W', 3) array."""
    count, channels, height, width = images.shape
    if count != rows * columns:
        raise ValueError(f"{count} images do not fill a {rows}x{columns} grid")
    if channels == 1:
        images = np.repeat(images, 3, axis=1)
    grid = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, 3),
                   255, dtype=np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image.transpose(1, 2, 0)
    return grid


def save_png(array: np.ndarray, path: str | Path, scale: int = 1) -> None:
    image = Image.fromarray(array)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def save_figure(figure: plt.Figure, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(figure)
