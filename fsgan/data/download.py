"""Fetching dataset files with checksum verification.

A file is downloaded under a temporary name beside its destination, its checksum
is verified, and only then is it renamed to the name a later run reads. A failed
or interrupted download therefore leaves no file that a later run would trust.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from fsgan.data.base import DatasetError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Download:
    """One file to fetch and the dataset files it provides.

    `checksum` is "<algorithm>:<hex digest>" with an algorithm of hashlib (md5,
    sha256). When `members` is empty, the downloaded file is itself the dataset
    file `file`. Otherwise `file` is a zip archive: the named members are extracted
    into the data folder under their base names, and the archive is deleted.
    """

    url: str
    file: str
    checksum: str
    members: tuple[str, ...] = ()

    @property
    def provides(self) -> tuple[str, ...]:
        """Dataset files, relative to the data folder, that this download writes."""
        return tuple(Path(member).name for member in self.members) or (self.file,)


def file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as file:
        while block := file.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, destination: Path) -> None:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, \
            destination.open("wb") as file:
        shutil.copyfileobj(response, file, CHUNK_BYTES)


def _extract_members(archive: Path, members: tuple[str, ...], root: Path) -> None:
    """Extract `members` of the zip `archive` into `root`, each atomically."""
    with zipfile.ZipFile(archive) as opened:
        for member in members:
            target = root / Path(member).name
            partial = target.with_name(target.name + ".partial")
            with opened.open(member) as source, partial.open("wb") as file:
                shutil.copyfileobj(source, file, CHUNK_BYTES)
            os.replace(partial, target)


def download(item: Download, root: Path, help_text: str) -> None:
    """Fetch `item` into the data folder `root` and verify its checksum.

    Raises DatasetError with `help_text` (which names the expected files and where
    to get them by hand) when the network fails or the checksum does not match.
    """
    root.mkdir(parents=True, exist_ok=True)
    algorithm, expected = item.checksum.split(":", 1)
    partial = root / f"{item.file}.partial"
    log.info("downloading %s to %s", item.url, root / item.file)
    try:
        try:
            _fetch(item.url, partial)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise DatasetError(f"download of {item.url} failed: {error}. {help_text}") from error
        actual = file_digest(partial, algorithm)
        if actual != expected:
            raise DatasetError(
                f"download of {item.url} has {algorithm} {actual}, expected {expected}; the "
                f"file was deleted. {help_text}")
        if not item.members:
            os.replace(partial, root / item.file)
            return
        try:
            _extract_members(partial, item.members, root)
        except (zipfile.BadZipFile, KeyError, OSError) as error:
            raise DatasetError(f"cannot extract {', '.join(item.members)} from {item.url}: "
                               f"{error}. {help_text}") from error
    finally:
        partial.unlink(missing_ok=True)
    log.info("downloaded %s and verified its %s checksum", item.file, algorithm)
