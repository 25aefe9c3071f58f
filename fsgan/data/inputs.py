"""The data inputs of a run, checked from the config's `data` section before any job starts.

The Snakefile calls `check_data_settings` while it parses, so a missing file, a
bad image folder, an unknown novel class or a class too small for a configured k
stops the run with one message before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fsgan.data import folder
from fsgan.data.base import DatasetError
from fsgan.data.registry import check_dataset_files, find_dataset_files, get_spec
from fsgan.splitfiles import check_split_files, find_split_files
from fsgan.splits import min_class_size

MAX_LISTED = 20


def novel_class_labels(names: Sequence[str], class_names: Sequence[str],
                       dataset: str) -> np.ndarray:
    """Return the labels of the novel classes `names` (config key data.novel_classes)."""
    index = {name: label for label, name in enumerate(class_names)}
    unknown = [name for name in names if name not in index]
    if unknown:
        folded = {name.casefold(): name for name in class_names}
        hints = [f"{name!r} (did you mean {folded[name.casefold()]!r}?)"
                 if name.casefold() in folded else repr(name) for name in unknown]
        listed = ", ".join(class_names[:MAX_LISTED])
        more = f" and {len(class_names) - MAX_LISTED} more" if len(class_names) > MAX_LISTED else ""
        raise DatasetError(
            f"novel class {', '.join(hints)} (config key data.novel_classes) is not a class of "
            f"dataset {dataset!r}. Its classes are: {listed}{more}.")
    return np.array(sorted(index[name] for name in names), dtype=np.int64)


def check_class_sizes(sizes: Mapping[str, int], ks: Sequence[int], where: str) -> None:
    """Raise DatasetError naming the first class too small for the largest k in `ks`.

    `sizes` maps a description of each class ("class 'cat'") to its image count.
    """
    k = max(ks)
    needed = min_class_size(k)
    for description, size in sizes.items():
        if size < needed:
            raise DatasetError(
                f"{description} of {where} has {size} images, too few for k={k} supports plus "
                f"valid and test images (config key ks); it needs at least {needed}. Add "
                f"images, lower ks, or leave the class out.")


def n_novel(data: Mapping[str, Any]) -> int:
    """Return the number of novel classes from data.novel_classes, data.n_novel or the default."""
    if data.get("novel_classes"):
        return len(data["novel_classes"])
    if data["n_novel"] is not None:
        return data["n_novel"]
    default = get_spec(data["dataset"]).n_novel
    if default is None:
        raise DatasetError(f"dataset {data['dataset']!r} has no default number of novel "
                           "classes; set data.n_novel or list them in data.novel_classes.")
    return default


def check_data_settings(data: Mapping[str, Any], seeds: Sequence[int], ks: Sequence[int]) -> None:
    """Check that the data section of a config names readable inputs for every seed and k.

    Raises DatasetError with one message naming the file, folder, class or key to fix.
    Image files are only listed here; prepare_dataset decodes them and reports a
    corrupt one. Novel-class names are checked here for datasets whose class
    names are known without reading (digits, emnist, folder) and by the
    split_classes job for the others.
    """
    name = data["dataset"]
    spec = get_spec(name)
    novel_names = data.get("novel_classes")
    if novel_names and data["n_novel"] is not None and data["n_novel"] != len(novel_names):
        raise DatasetError(
            f"config key data.n_novel is {data['n_novel']} but data.novel_classes lists "
            f"{len(novel_names)} classes; set data.n_novel to null or make them agree.")
    if data.get("split_files"):
        check_split_files(data["split_files"], name, list(seeds), list(ks))
        return
    n_novel(data)
    if name == "folder":
        classes = folder.scan_folder(Path(data["root"]))
        class_names = [folder_class.name for folder_class in classes]
        sizes = {folder_class.name: len(folder_class.files) for folder_class in classes}
        if novel_names:
            novel_class_labels(novel_names, class_names, name)
            sizes = {class_name: sizes[class_name] for class_name in novel_names}
        check_class_sizes({f"class {class_name!r}": size for class_name, size in sizes.items()},
                          ks, f"image folder {data['root']!r}")
        return
    if not data["download"]:
        check_dataset_files(name, data["root"])
    if novel_names and spec.class_names is not None:
        novel_class_labels(novel_names, spec.class_names, name)
    if spec.class_size is not None:
        check_class_sizes({"the smallest class": spec.class_size}, ks, f"dataset {name!r}")


def dataset_input_files(data: Mapping[str, Any]) -> list[str]:
    """Return the files that prepare_dataset reads, as paths under data.root or data.split_files.

    With data.download the files may not exist yet; the first layout of the
    dataset is returned then, the one the download_dataset rule writes.
    """
    if data.get("split_files"):
        found = find_split_files(data["split_files"], data["dataset"])
        return [str(path) for paths in found.values() for path in paths.values()]
    root = Path(data["root"])
    if data["dataset"] == "folder":
        return [str(path) for folder_class in folder.scan_folder(root)
                for path in folder_class.files]
    paths = find_dataset_files(data["dataset"], root)
    if paths is None:
        paths = tuple(root / file for file in get_spec(data["dataset"]).files)
    return [str(path) for path in paths]
