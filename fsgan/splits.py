"""The class split and per-class split protocol of the study.

Class split for seed s: `numpy.random.RandomState(s).permutation(C)`; the last
`n_novel` entries are the novel classes, the rest are seen.

Per novel class c: its global image indices are sorted, shuffled with
`numpy.random.RandomState(c)` (seeded by the class label, not the split seed), and
cut into supports = the first k, valid = the first floor(0.8 n_c), test = the rest.
Each subset is sorted again. Supports are therefore nested across k, and by
default the valid split contains the supports, as in the published results;
`supports_in_valid=False` removes them from valid.

A user may instead name the novel classes (`split_named_classes`); the same
classes are then novel for every seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VALID_FRACTION = 0.8


@dataclass(frozen=True)
class ClassSplit:
    """Seen and novel class labels (sorted), and the indices of all seen-class images."""

    seen: np.ndarray
    novel: np.ndarray
    train: np.ndarray


@dataclass(frozen=True)
class NovelSplit:
    """Global image indices of the novel classes, each array sorted."""

    supports: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def split_classes(labels: np.ndarray, num_classes: int, n_novel: int, seed: int) -> ClassSplit:
    """Split the classes for `seed` and collect the seen-class image indices."""
    if not 0 < n_novel < num_classes:
        raise ValueError(f"n_novel (config key data.n_novel) must be between 1 and "
                         f"{num_classes - 1} for {num_classes} classes, got {n_novel}")
    order = np.random.RandomState(seed).permutation(num_classes)
    novel = np.sort(order[num_classes - n_novel:])
    seen = np.sort(order[:num_classes - n_novel])
    train = np.flatnonzero(np.isin(labels, seen))
    return ClassSplit(seen=seen, novel=novel, train=train)


def split_named_classes(labels: np.ndarray, num_classes: int, novel: np.ndarray) -> ClassSplit:
    """Split the classes with the given novel class labels, the same for every seed."""
    novel = np.unique(novel)
    if not 0 < len(novel) < num_classes:
        raise ValueError(f"the novel classes must be between 1 and {num_classes - 1} of the "
                         f"{num_classes} classes, got {len(novel)}")
    seen = np.setdiff1d(np.arange(num_classes), novel)
    return ClassSplit(seen=seen, novel=novel, train=np.flatnonzero(np.isin(labels, seen)))


def min_class_size(k: int) -> int:
    """Return the fewest images a novel class needs for k supports, one valid and one test image.

    The valid part is floor(0.8 n) images and must exceed k; the test part is the
    rest, at least one image for every n >= 1.
    """
    n = k + 1
    while int(np.floor(VALID_FRACTION * n)) <= k:
        n += 1
    return n


def split_novel(labels: np.ndarray, novel: np.ndarray, k: int,
                supports_in_valid: bool = True) -> NovelSplit:
    """Cut each novel class into supports, valid and test index sets."""
    supports, valid, test = [], [], []
    for c in novel:
        indices = np.sort(np.flatnonzero(labels == c))
        n_valid = int(np.floor(VALID_FRACTION * len(indices)))
        if k >= n_valid or n_valid >= len(indices):
            raise ValueError(
                f"class {int(c)} has {len(indices)} images, too few for k={k} supports plus "
                f"valid and test images; it needs at least {min_class_size(k)}")
        shuffled = indices[np.random.RandomState(int(c)).permutation(len(indices))]
        supports.append(shuffled[:k])
        valid.append(shuffled[k:n_valid] if not supports_in_valid else shuffled[:n_valid])
        test.append(shuffled[n_valid:])
    return NovelSplit(supports=np.sort(np.concatenate(supports)),
                      valid=np.sort(np.concatenate(valid)),
                      test=np.sort(np.concatenate(test)))
