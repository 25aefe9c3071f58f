"""Datasets as in-memory image arrays, and the registry the pipeline reads them through."""

from fsgan.data.base import (
    IMAGE_SIZE,
    DatasetError,
    ImageDataset,
    load_npz,
    save_npz,
    to_float,
    to_uint8,
)
from fsgan.data.registry import DATASETS, DatasetSpec, check_dataset_files, load_dataset

__all__ = [
    "DATASETS",
    "IMAGE_SIZE",
    "DatasetError",
    "DatasetSpec",
    "ImageDataset",
    "check_dataset_files",
    "load_dataset",
    "load_npz",
    "save_npz",
    "to_float",
    "to_uint8",
]
