"""The datasets fsgan can read, with the files each needs and its default split sizes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fsgan.data import cifar, digits, emnist, folder, omniglot
from fsgan.data.base import DatasetError, ImageDataset
from fsgan.data.download import Download, download

log = logging.getLogger(__name__)

OMNIGLOT_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"
OMNIGLOT_SOURCE = "https://github.com/brendenlake/omniglot (folder python/)"


@dataclass(frozen=True)
class DatasetSpec:
    """How to read one dataset: its files under the data folder, downloads and default split.

    `layouts` lists the accepted sets of files, relative to the data folder. The
    first complete layout is read, and `downloads` write the first layout. The
    loader receives the data folder and the files of the layout it reads. `class_size`
    is the number of images in the smallest class, or None when only the files
    tell (a user's folder). `class_names` is given where the names are known
    without reading any file. `n_novel` is None when the dataset has no default.
    """

    layouts: tuple[tuple[str, ...], ...]
    n_novel: int | None
    loader: Callable[[Path, tuple[Path, ...]], ImageDataset]
    source: str
    downloads: tuple[Download, ...] = ()
    class_size: int | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def files(self) -> tuple[str, ...]:
        """The files of the first layout, the one a download writes."""
        return self.layouts[0]


# The md5 checksums are those that torchvision 0.29.1 verifies for the same URLs
# (its EMNIST, CIFAR100 and Omniglot classes). The sha256 of the two small Omniglot
# sets are those of copies of python/ at commit 057f034b of the Omniglot repository.
DATASETS: dict[str, DatasetSpec] = {
    # images_background (964 characters) then images_evaluation (659 characters,
    # labels 964 to 1622).
    "omniglot": DatasetSpec(
        layouts=((f"{omniglot.BACKGROUND}.zip", f"{omniglot.EVALUATION}.zip"),),
        n_novel=212,
        loader=lambda root, paths: omniglot.load_omniglot(
            root, (omniglot.BACKGROUND, omniglot.EVALUATION), "omniglot"),
        source=OMNIGLOT_SOURCE,
        downloads=(
            Download(f"{OMNIGLOT_URL}/{omniglot.BACKGROUND}.zip", f"{omniglot.BACKGROUND}.zip",
                     "md5:68d2efa1b9178cc56df9314c21c6e718"),
            Download(f"{OMNIGLOT_URL}/{omniglot.EVALUATION}.zip", f"{omniglot.EVALUATION}.zip",
                     "md5:6b91aef0f799c5bb55b94e3f2daec811"),
        ),
        class_size=20,
    ),
    # 242 characters of 8 alphabets. 32 novel classes keeps the seen/novel ratio of
    # the full set (1411/212) roughly; this value is our choice.
    "omniglot_small": DatasetSpec(
        layouts=(tuple(f"{name}.zip" for name in omniglot.BACKGROUND_SMALL),),
        n_novel=32,
        loader=lambda root, paths: omniglot.load_omniglot(
            root, omniglot.BACKGROUND_SMALL, "omniglot_small"),
        source=OMNIGLOT_SOURCE,
        downloads=(
            Download(f"{OMNIGLOT_URL}/images_background_small1.zip",
                     "images_background_small1.zip",
                     "sha256:f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4"),
            Download(f"{OMNIGLOT_URL}/images_background_small2.zip",
                     "images_background_small2.zip",
                     "sha256:3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f"),
        ),
        class_size=20,
    ),
    # The four balanced files, directly in the data folder or in torchvision's
    # EMNIST/raw/ layout. The download is the official zip of every EMNIST split
    # (about 560 MB), of which the four balanced files are kept.
    "emnist": DatasetSpec(
        layouts=(emnist.FILES, tuple(f"{emnist.RAW_FOLDER}/{name}" for name in emnist.FILES)),
        n_novel=10,
        loader=lambda root, paths: emnist.load_emnist(paths),
        source="https://www.nist.gov/itl/products-and-services/emnist-dataset (gzip.zip, "
               "folder gzip/)",
        downloads=(Download("https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
                            "emnist-gzip.zip", "md5:58c8d27c78d21e728a6bc7b3cc06412e",
                            members=tuple(f"gzip/{name}" for name in emnist.FILES)),),
        class_size=2800,
        class_names=emnist.CLASS_NAMES,
    ),
    "cifar100": DatasetSpec(
        layouts=((cifar.ARCHIVE,), tuple(f"{cifar.FOLDER}/{name}" for name in cifar.MEMBERS)),
        n_novel=20,
        loader=lambda root, paths: cifar.load_cifar100(paths),
        source="https://www.cs.toronto.edu/~kriz/cifar.html (CIFAR-100 python version)",
        downloads=(Download("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                            cifar.ARCHIVE, "md5:eb9058c3a382ffc7106e4002c42a8d85"),),
        class_size=600,
    ),
    # Bundled with scikit-learn. 3 of 10 classes novel is our choice: it leaves 7
    # seen classes for the classifier and the GAN to learn from.
    "digits": DatasetSpec(
        layouts=((),),
        n_novel=3,
        loader=lambda root, paths: digits.load_digits(paths),
        source="scikit-learn (sklearn.datasets.load_digits), no file needed",
        class_size=174,
        class_names=digits.CLASS_NAMES,
    ),
    # A user's images, one sub-folder of data.root per class; data.n_novel or
    # data.novel_classes must be set.
    "folder": DatasetSpec(
        layouts=((),),
        n_novel=None,
        loader=lambda root, paths: folder.load_folder(root),
        source="your own images, one sub-folder per class",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r} (config key data.dataset); "
                           f"choose one of {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def find_dataset_files(name: str, root: str | Path) -> tuple[Path, ...] | None:
    """Return the files of the first complete layout of dataset `name`, or None."""
    root = Path(root)
    for layout in get_spec(name).layouts:
        paths = tuple(root / file for file in layout)
        if all(path.is_file() for path in paths):
            return paths
    return None


def describe_files(name: str, root: str | Path) -> str:
    """Say which files dataset `name` needs in `root`, where to get them and how to fetch them."""
    spec = get_spec(name)
    options = " or ".join(", ".join(layout) for layout in spec.layouts)
    text = (f"Dataset {name!r} needs {options} in data folder {str(root)!r} (config key "
            f"data.root). Get them from {spec.source}")
    if spec.downloads:
        text += ", or set data.download: true to fetch them"
    return text + "."


def check_dataset_files(name: str, root: str | Path) -> None:
    """Raise DatasetError naming every missing file of dataset `name` under `root`."""
    spec = get_spec(name)
    if not spec.files:
        return  # digits need no file; an image folder is checked by folder.scan_folder
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data folder {str(root)!r} (config key data.root) does not exist. "
                           f"Create it or set data.root. {describe_files(name, root)}")
    if find_dataset_files(name, root) is not None:
        return
    missing = [file for file in spec.files if not (root / file).is_file()]
    raise DatasetError(f"dataset {name!r} is missing {', '.join(missing)} in data folder "
                       f"{str(root)!r}. {describe_files(name, root)}")


def missing_downloads(name: str, root: str | Path) -> tuple[Download, ...]:
    """Return the downloads of dataset `name` whose files are not yet in `root`."""
    if find_dataset_files(name, root) is not None:
        return ()
    root = Path(root)
    return tuple(item for item in get_spec(name).downloads
                 if not all((root / file).is_file() for file in item.provides))


def download_dataset(name: str, root: str | Path) -> None:
    """Fetch every missing file of dataset `name` into `root`, verifying checksums."""
    root = Path(root)
    for item in missing_downloads(name, root):
        download(item, root, describe_files(name, root))


def load_dataset(name: str, root: str | Path) -> ImageDataset:
    """Read dataset `name` from the data folder `root`, checking its files first."""
    check_dataset_files(name, root)
    paths = find_dataset_files(name, root)
    return get_spec(name).loader(Path(root), paths or ())
