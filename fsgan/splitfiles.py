"""Split files in the study's form: export a run's splits, or run on given splits.

One file per seed, k and split: `{dataset}-s{seed}-32px-k{k}-{split}.pkl` with
split in train (every seen-class image), supports, valid and test (novel-class
images). Each is a pickle of a dict:

- "images": uint8, shape (N, 32, 32, C) with C = 1 (grayscale) or 3 (RGB);
- "labels": int64, shape (N,), class indices of the whole dataset;
- "class_names": list of str, every class of the dataset in label order.

Exported files also store "dataset", "seed", "k" and "split". The importer needs
only "images" and "labels", and also accepts images of shape (N, C, 32, 32) or
(N, 32, 32). Without "class_names" the classes are named by their label.
NOTE: the image layout of the study's own files is not confirmed here, which is
why the importer accepts all three layouts.

The importer rebuilds one image array for all files: images equal in bytes and
label are stored once, so the seeds' files, which hold the same images in other
splits, share storage. Within one seed, the j-th occurrence of an image maps to
the j-th stored copy, so duplicates inside a dataset stay distinct. Each split's
indices keep the order of its file, so `images[indices]` equals the file's images.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np

from fsgan.data.base import (
    IMAGE_SIZE,
    DatasetError,
    ImageDataset,
    load_array_pickle,
    load_npz,
    read_dataset,
    save_npz,
)
from fsgan.splits import ClassSplit, NovelSplit

log = logging.getLogger(__name__)

SPLITS = ("train", "supports", "valid", "test")
FILE_PATTERN = re.compile(rf"^(?P<dataset>.+)-s(?P<seed>\d+)-{IMAGE_SIZE}px-k(?P<k>\d+)-"
                          r"(?P<split>train|supports|valid|test)\.pkl$")


def split_file_name(dataset: str, seed: int, k: int, split: str) -> str:
    return f"{dataset}-s{seed}-{IMAGE_SIZE}px-k{k}-{split}.pkl"


def find_split_files(folder: str | Path, dataset: str) -> dict[tuple[int, int], dict[str, Path]]:
    """Map (seed, k) to {split: path} for every split file of `dataset` in `folder`."""
    found: dict[tuple[int, int], dict[str, Path]] = {}
    for path in sorted(Path(folder).iterdir()):
        match = FILE_PATTERN.match(path.name)
        if match and match["dataset"] == dataset and path.is_file():
            found.setdefault((int(match["seed"]), int(match["k"])), {})[match["split"]] = path
    return found


def check_split_files(folder: str | Path, dataset: str, seeds: list[int], ks: list[int]) -> None:
    """Raise DatasetError naming every split file that the configured seeds and ks need."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"split-file folder {str(folder)!r} (config key data.split_files) "
                           "does not exist; set it to the folder that contains the .pkl files.")
    found = find_split_files(folder, dataset)
    missing = [split_file_name(dataset, seed, k, split) for seed in seeds for k in ks
               for split in SPLITS if split not in found.get((seed, k), {})]
    if missing:
        raise DatasetError(
            f"split-file folder {str(folder)!r} (config key data.split_files) lacks "
            f"{len(missing)} file(s) the configured seeds and ks need: {', '.join(missing[:8])}"
            f"{' ...' if len(missing) > 8 else ''}. Add them, or change seeds, ks or "
            "data.dataset (the file-name prefix).")


def _write_pickle(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        pickle.dump(content, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)


def export_split_files(dataset_path: str, classes_path: str, split_path: str, seed: int, k: int,
                       out_dir: str) -> None:
    """Write the train, supports, valid and test files of one seed and k."""
    dataset = read_dataset(dataset_path)
    indices = {"train": load_npz(classes_path)["train"], **load_npz(split_path)}
    for split in SPLITS:
        selected = indices[split]
        _write_pickle(Path(out_dir) / split_file_name(dataset.name, seed, k, split), {
            "images": np.ascontiguousarray(dataset.images[selected].transpose(0, 2, 3, 1)),
            "labels": dataset.labels[selected],
            "class_names": list(dataset.class_names),
            "dataset": dataset.name, "seed": seed, "k": k, "split": split,
        })
    log.info("exported seed %d, k=%d: %s", seed, k, ", ".join(
        f"{len(indices[split])} {split}" for split in SPLITS))


def _read_split_file(path: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """Read one split file into NCHW uint8 images, int64 labels and the class names if stored."""
    with path.open("rb") as file:
        content = load_array_pickle(file, str(path))
    if not isinstance(content, dict) or "images" not in content or "labels" not in content:
        raise DatasetError(f"split file {path} must hold a dict with keys 'images' and 'labels'.")
    images = np.asarray(content["images"])
    labels = np.asarray(content["labels"])
    if images.dtype != np.uint8:
        raise DatasetError(f"split file {path}: images are {images.dtype}, expected uint8 "
                           "values 0-255.")
    size = (IMAGE_SIZE, IMAGE_SIZE)
    if images.ndim == 3 and images.shape[1:] == size:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[1:3] == size and images.shape[3] in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    elif not (images.ndim == 4 and images.shape[2:] == size and images.shape[1] in (1, 3)):
        raise DatasetError(
            f"split file {path}: images have shape {images.shape}, expected (N, {IMAGE_SIZE}, "
            f"{IMAGE_SIZE}, C), (N, C, {IMAGE_SIZE}, {IMAGE_SIZE}) or (N, {IMAGE_SIZE}, "
            f"{IMAGE_SIZE}) with C = 1 or 3.")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) \
            or len(labels) != len(images) or (len(labels) and labels.min() < 0):
        raise DatasetError(f"split file {path}: labels must be {len(images)} non-negative "
                           f"integers, one per image, got {labels.dtype} {labels.shape}.")
    names = content.get("class_names")
    return (np.ascontiguousarray(images), labels.astype(np.int64),
            None if names is None else tuple(str(name) for name in names))


class _ImagePool:
    """One stored copy per distinct (label, image) occurrence, shared by all seeds."""

    def __init__(self) -> None:
        self.slots: dict[bytes, list[int]] = {}
        self.images: list[np.ndarray] = []
        self.labels: list[int] = []

    def assign(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Return the stored index of each image, storing the ones not stored yet."""
        occurrences: dict[bytes, int] = {}
        indices = np.empty(len(images), dtype=np.int64)
        for position, (image, label) in enumerate(zip(images, labels, strict=True)):
            key = hashlib.blake2b(int(label).to_bytes(8, "little") + image.tobytes(),
                                  digest_size=16).digest()
            occurrence = occurrences.get(key, 0)
            occurrences[key] = occurrence + 1
            slots = self.slots.setdefault(key, [])
            if occurrence == len(slots):
                slots.append(len(self.images))
                self.images.append(image)
                self.labels.append(int(label))
            indices[position] = slots[occurrence]
        return indices


def _class_list(labels: np.ndarray) -> str:
    return ", ".join(str(label) for label in labels[:10]) + (" ..." if len(labels) > 10 else "")


def _check_seed_split(seed: int, k: int, train_labels: np.ndarray,
                      parts: dict[str, np.ndarray], source: Path) -> None:
    """Check that one seed and k form a valid class split with k supports per novel class."""
    where = f"split files of seed {seed}, k={k} in {source}"
    novel = np.unique(parts["valid"])
    overlap = np.intersect1d(train_labels, novel)
    if len(overlap):
        raise DatasetError(f"{where}: classes {_class_list(overlap)} are both in train (seen) "
                           "and in valid (novel); seen and novel classes must be disjoint.")
    for split in ("test", "supports"):
        if not np.array_equal(np.unique(parts[split]), novel):
            raise DatasetError(f"{where}: the {split} classes "
                               f"({_class_list(np.unique(parts[split]))}) differ from the valid "
                               f"classes ({_class_list(novel)}).")
    counts = np.bincount(parts["supports"], minlength=novel.max() + 1)[novel]
    if (counts != k).any():
        wrong = novel[counts != k]
        raise DatasetError(f"{where}: classes {_class_list(wrong)} have "
                           f"{_class_list(counts[counts != k])} supports, expected k={k} each.")


def import_split_files(folder: str, dataset_name: str, output: str) -> None:
    """Read every split file of `dataset_name` in `folder` into one dataset npz.

    Besides images, labels and class names, the npz stores the index arrays of
    each split under the keys of `_key`. Raises DatasetError when the files
    disagree: class names, images or labels of train across ks, seen and novel
    classes that overlap, or a novel class without exactly k supports.
    """
    found = find_split_files(folder, dataset_name)
    if not found:
        raise DatasetError(f"split-file folder {folder!r} (config key data.split_files) contains "
                           f"no {split_file_name(dataset_name, 0, 5, 'train')}-style files.")
    pool = _ImagePool()
    arrays: dict[str, np.ndarray] = {}
    class_names: tuple[str, ...] | None = None
    channels = set()
    train_by_seed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for (seed, k), paths in sorted(found.items()):
        missing = [split_file_name(dataset_name, seed, k, split) for split in SPLITS
                   if split not in paths]
        if missing:
            raise DatasetError(f"split-file folder {folder!r} has files of seed {seed}, k={k} "
                               f"but lacks {', '.join(missing)}; add them or remove the others.")
        parts = {}
        for split in SPLITS:
            images, labels, names = _read_split_file(paths[split])
            if names is not None:
                if class_names is not None and names != class_names:
                    raise DatasetError(f"split file {paths[split]} lists other class names "
                                       "than the files before it; all files must come from "
                                       "one dataset.")
                class_names = names
            channels.add(images.shape[1])
            parts[split] = (images, labels)

        train_images, train_labels = parts["train"]
        if seed in train_by_seed:
            first_images, first_labels = train_by_seed[seed]
            if not (np.array_equal(first_images, train_images)
                    and np.array_equal(first_labels, train_labels)):
                raise DatasetError(f"{paths['train']} differs from the train file of another k "
                                   f"for seed {seed}; the seen-class images of a seed must be "
                                   "the same for every k.")
        else:
            train_by_seed[seed] = parts["train"]
            arrays[_key(seed, None, "train")] = pool.assign(train_images, train_labels)

        _check_seed_split(seed, k, np.unique(train_labels),
                          {split: parts[split][1] for split in ("supports", "valid", "test")},
                          paths["train"].parent)
        novel = np.unique(parts["valid"][1])
        novel_key = _key(seed, None, "novel")
        if novel_key in arrays and not np.array_equal(arrays[novel_key], novel):
            raise DatasetError(f"{paths['valid']} has other novel classes than the valid file "
                               f"of another k for seed {seed}; the class split of a seed must "
                               "be the same for every k.")
        arrays[novel_key] = novel
        valid_test = pool.assign(np.concatenate([parts["valid"][0], parts["test"][0]]),
                                 np.concatenate([parts["valid"][1], parts["test"][1]]))
        n_valid = len(parts["valid"][1])
        arrays[_key(seed, k, "valid")] = valid_test[:n_valid]
        arrays[_key(seed, k, "test")] = valid_test[n_valid:]
        arrays[_key(seed, k, "supports")] = pool.assign(*parts["supports"])

    labels = np.array(pool.labels, dtype=np.int64)
    if class_names is None:
        class_names = tuple(str(label) for label in range(labels.max() + 1))
    if labels.max() >= len(class_names):
        raise DatasetError(f"split files in {folder} have label {labels.max()}, but their "
                           f"class_names list only {len(class_names)} classes.")
    images = np.stack(pool.images)
    if len(channels) > 1:
        images = np.stack([np.repeat(image, 3 // image.shape[0], axis=0)
                           for image in pool.images])
    dataset = ImageDataset(name=dataset_name, images=images, labels=labels,
                           class_names=class_names)
    log.info("imported %d split-file sets (seed, k) from %s: %d distinct images, %d classes",
             len(found), folder, len(labels), len(class_names))
    save_npz(output, images=dataset.images, labels=dataset.labels,
             class_names=np.array(dataset.class_names), name=np.array(dataset.name), **arrays)


def _key(seed: int, k: int | None, split: str) -> str:
    """Name of the index array of one imported split inside the dataset npz."""
    return f"split_s{seed}_{split}" if k is None else f"split_s{seed}_k{k}_{split}"


def imported_class_split(dataset_path: str, seed: int) -> ClassSplit:
    """Return the class split of `seed` stored by `import_split_files`."""
    arrays = load_npz(dataset_path)
    key = _key(seed, None, "train")
    if key not in arrays:
        raise DatasetError(f"{dataset_path} contains no imported split for seed {seed}; add its "
                           "split files to the data.split_files folder.")
    train = arrays[key]
    return ClassSplit(seen=np.unique(arrays["labels"][train]),
                      novel=arrays[_key(seed, None, "novel")], train=train)


def imported_novel_split(dataset_path: str, seed: int, k: int) -> NovelSplit:
    """Return the supports, valid and test indices of `seed` and `k` stored by the importer."""
    arrays = load_npz(dataset_path)
    if _key(seed, k, "valid") not in arrays:
        raise DatasetError(f"{dataset_path} contains no imported split for seed {seed}, k={k}; add "
                           "its split files to the data.split_files folder.")
    return NovelSplit(**{split: arrays[_key(seed, k, split)]
                         for split in ("supports", "valid", "test")})
