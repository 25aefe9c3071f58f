"""Reader for a user's image folder: one sub-folder per class.

`root/<class name>/<image file>`. Classes are the sub-folders in sorted name order
(Python string order), and images within a class are in sorted file-name order.
Hidden entries (names starting with ".") are skipped, and so are files directly
in `root` and folders inside a class folder. Every other file in a class folder
must be an image that Pillow decodes (PNG, JPEG, BMP, GIF, TIFF, WebP and more).

Each image is converted to RGB and resized to 32x32 (stretched, not cropped).
Transparent pixels are composited over white, the first frame of an animation
is used, and 16-bit grayscale is scaled to 8 bits. The dataset is stored with one
channel when every image is gray after conversion (R = G = B in every pixel),
otherwise with three.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fsgan.data.base import IMAGE_SIZE, DatasetError, ImageDataset

log = logging.getLogger(__name__)

ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
SIXTEEN_BIT_MAX = 65535


@dataclass(frozen=True)
class FolderClass:
    """One class of an image folder: its name and its image files in sorted order."""

    name: str
    files: tuple[Path, ...]


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def scan_folder(root: Path) -> list[FolderClass]:
    """List the classes of the image folder `root` without decoding any image.

    Raises DatasetError for a missing folder, a folder without class sub-folders,
    an empty class folder, or two class names that differ only in case (which a
    case-insensitive file system or a novel-class list could not tell apart).
    """
    if not root.is_dir():
        raise DatasetError(
            f"image folder {str(root)!r} (config key data.root) does not exist. Set data.root "
            "to a folder with one sub-folder of images per class.")
    folders = sorted((entry for entry in root.iterdir() if entry.is_dir() and _visible(entry)),
                     key=lambda entry: entry.name)
    if not folders:
        raise DatasetError(
            f"image folder {str(root)!r} (config key data.root) has no class sub-folders. Put "
            f"the images of each class in their own folder, e.g. {root}/<class name>/1.png.")

    by_folded: dict[str, list[str]] = {}
    for folder in folders:
        by_folded.setdefault(folder.name.casefold(), []).append(folder.name)
    clashes = [names for names in by_folded.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(" and ".join(repr(name) for name in names) for names in clashes)
        raise DatasetError(
            f"image folder {str(root)!r} has class folders whose names differ only in case: "
            f"{listed}. Merge or rename them so that every class name is unique ignoring case.")

    classes = []
    for folder in folders:
        files = tuple(sorted((entry for entry in folder.iterdir()
                              if entry.is_file() and _visible(entry)),
                             key=lambda entry: entry.name))
        if not files:
            raise DatasetError(
                f"class folder {str(folder)!r} contains no image files. Add images to it or "
                "remove the folder.")
        classes.append(FolderClass(folder.name, files))
    return classes


def _to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB."""
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        # "I;16*" modes are 16-bit by definition. "I" and "F" carry no range, so
        # values up to 255 are taken as 8-bit and larger ones as 16-bit.
        # NOTE: a 32-bit or float image with values above 65535 is clipped.
        if image.mode.startswith("I;16") or values.max(initial=0) > 255:
            values = values * (255 / SIXTEEN_BIT_MAX)
        gray = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ALPHA_MODES:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def decode_image_file(path: Path) -> np.ndarray:
    """Decode one image file to a (32, 32, 3) uint8 RGB array."""
    try:
        with Image.open(path) as image:
            image.load()
            rgb = _to_rgb(image).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise DatasetError(
            f"cannot read image {path}: {error}. Remove the file from its class folder or "
            "replace it with a readable image (PNG, JPEG, BMP, GIF, TIFF, WebP).") from error


def load_folder(root: Path) -> ImageDataset:
    """Read every class of the image folder `root` into one dataset."""
    classes = scan_folder(root)
    images, labels = [], []
    for label, folder_class in enumerate(classes):
        for path in folder_class.files:
            images.append(decode_image_file(path))
            labels.append(label)
    stacked = np.stack(images).transpose(0, 3, 1, 2)
    gray = bool((stacked[:, :1] == stacked[:, 1:]).all())
    if gray:
        stacked = stacked[:, :1]
    log.info("read image folder %s: %d classes, %d images, %s", root, len(classes),
             len(images), "grayscale" if gray else "RGB")
    return ImageDataset(name="folder", images=np.ascontiguousarray(stacked),
                        labels=np.array(labels, dtype=np.int64),
                        class_names=tuple(folder_class.name for folder_class in classes))
