"""Reader for the official Omniglot zip files.

Each zip contains `<set>/<alphabet>/<character>/<id>_<drawer>.png`, 105x105 one-bit
images. A class is one (alphabet, character) pair. The two "background small" sets
both contain Greek and Latin, byte-identical, so a character met twice is counted
once.
"""

from __future__ import annotations

import io
import logging
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from fsgan.data.base import IMAGE_SIZE, DatasetError, ImageDataset

log = logging.getLogger(__name__)

BACKGROUND = "images_background"
EVALUATION = "images_evaluation"
BACKGROUND_SMALL = ("images_background_small1", "images_background_small2")


def read_zip_characters(path: Path) -> dict[tuple[str, str], list[tuple[str, bytes]]]:
    """Read one Omniglot zip into {(alphabet, character): [(file name, PNG bytes), ...]}."""
    characters: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                parts = member.filename.strip("/").split("/")
                if member.is_dir() or len(parts) != 4 or not parts[3].endswith(".png"):
                    continue
                _, alphabet, character, file_name = parts
                characters.setdefault((alphabet, character), []).append(
                    (file_name, archive.read(member)))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise DatasetError(
            f"cannot read Omniglot zip {path}: {error}. The file is truncated or corrupt; "
            "delete it and download it again.") from error
    if not characters:
        raise DatasetError(f"Omniglot zip {path} contains no <set>/<alphabet>/<character>/*.png "
                           "images; check that it is an official Omniglot file.")
    return characters


def decode_image(png: bytes, source: str) -> np.ndarray:
    """Decode one Omniglot PNG to a (32, 32) uint8 grayscale array."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            gray = image.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            return np.asarray(gray, dtype=np.uint8)
    except OSError as error:
        raise DatasetError(f"cannot decode image {source}: {error}") from error


def load_omniglot(root: Path, sets: tuple[str, ...], name: str) -> ImageDataset:
    """Load the given Omniglot sets from `root/<set>.zip` as one dataset.

    Classes are numbered set by set in the order of `sets`, and within a set by
    sorted (alphabet, character). A character already seen in an earlier set is
    skipped. Images of a class are in sorted file-name order.
    """
    class_keys: list[tuple[str, str]] = []
    class_images: list[list[tuple[str, bytes]]] = []
    known: set[tuple[str, str]] = set()
    for set_name in sets:
        path = root / f"{set_name}.zip"
        characters = read_zip_characters(path)
        new_keys = sorted(key for key in characters if key not in known)
        log.info("read %s: %d characters, %d new", path, len(characters), len(new_keys))
        for key in new_keys:
            known.add(key)
            class_keys.append(key)
            class_images.append(sorted(characters[key]))

    images, labels = [], []
    for label, (key, files) in enumerate(zip(class_keys, class_images, strict=True)):
        for file_name, png in files:
            images.append(decode_image(png, f"{'/'.join(key)}/{file_name}"))
            labels.append(label)
    class_names = tuple(f"{alphabet}/{character}" for alphabet, character in class_keys)
    return ImageDataset(name=name, images=np.stack(images)[:, None],
                        labels=np.array(labels, dtype=np.int64), class_names=class_names)
