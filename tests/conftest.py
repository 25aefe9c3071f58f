"""Shared fixtures: the real Omniglot files beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
OMNIGLOT_DIR = Path(os.environ.get("FSGAN_OMNIGLOT_DIR",
                                   REPO_ROOT.parent / "shared" / "data" / "omniglot"))


@pytest.fixture(scope="session")
def omniglot_dir() -> Path:
    """Folder with images_background_small1.zip and images_background_small2.zip."""
    if not (OMNIGLOT_DIR / "images_background_small1.zip").is_file():
        pytest.fail(f"real Omniglot files not found in {OMNIGLOT_DIR}; set FSGAN_OMNIGLOT_DIR "
                    "to the folder holding images_background_small1.zip and "
                    "images_background_small2.zip")
    return OMNIGLOT_DIR


@pytest.fixture(scope="session")
def omniglot_small(omniglot_dir):
    from fsgan.data import load_dataset

    return load_dataset("omniglot_small", omniglot_dir)
