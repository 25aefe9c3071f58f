"""The datasets fsgan can read, with the files each needs and its default split sizes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fsgan.data import omniglot
from fsgan.data.base import DatasetError, ImageDataset


@dataclass(frozen=True)
class DatasetSpec:
    """How to read one dataset: its files under the data folder and its default split."""

    files: tuple[str, ...]
    n_novel: int
    loader: Callable[[Path], ImageDataset]
    source: str


DATASETS: dict[str, DatasetSpec] = {
    "omniglot": DatasetSpec(
        files=(f"{omniglot.BACKGROUND}.zip", f"{omniglot.EVALUATION}.zip"),
        n_novel=212,
        loader=lambda root: omniglot.load_omniglot(
            root, (omniglot.BACKGROUND, omniglot.EVALUATION), "omniglot"),
        source="https://github.com/brendenlake/omniglot (folder python/)",
    ),
    # 242 characters of 8 alphabets. 32 novel classes keeps the seen/novel ratio of
    # the full set (1411/212) roughly; this value is our choice.
    "omniglot_small": DatasetSpec(
        files=tuple(f"{name}.zip" for name in omniglot.BACKGROUND_SMALL),
        n_novel=32,
        loader=lambda root: omniglot.load_omniglot(
            root, omniglot.BACKGROUND_SMALL, "omniglot_small"),
        source="https://github.com/brendenlake/omniglot (folder python/)",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r} (config key data.dataset); "
                           f"choose one of {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def check_dataset_files(name: str, root: str | Path) -> None:
    """Raise DatasetError naming every missing file of dataset `name` under `root`."""
    spec = get_spec(name)
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(
            f"data folder {str(root)!r} (config key data.root) does not exist. Create it and put "
            f"{', '.join(spec.files)} there (from {spec.source}), or set data.root to the "
            "folder that holds them.")
    missing = [file for file in spec.files if not (root / file).is_file()]
    if missing:
        raise DatasetError(
            f"dataset {name!r} needs {', '.join(missing)} in data folder {str(root)!r} "
            f"(config key data.root), but they are missing. Get them from {spec.source}.")


def load_dataset(name: str, root: str | Path) -> ImageDataset:
    """Read dataset `name` from the data folder `root`, checking its files first."""
    check_dataset_files(name, root)
    return get_spec(name).loader(Path(root))
