import numpy as np
import pytest

from fsgan.splits import split_classes, split_novel

EMNIST_BALANCED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"


def emnist_novel(seed: int) -> str:
    labels = np.repeat(np.arange(47), 3)
    split = split_classes(labels, 47, 10, seed)
    return " ".join(EMNIST_BALANCED[c] for c in split.novel)


def test_emnist_novel_classes_seed0():
    assert emnist_novel(0) == "0 3 9 J L N a e q t"


def test_emnist_novel_classes_seed1():
    assert emnist_novel(1) == "0 5 8 9 B C F G b n"


def test_class_split_partitions_classes():
    labels = np.repeat(np.arange(20), 5)
    split = split_classes(labels, 20, 6, seed=3)
    assert len(split.novel) == 6
    assert len(np.intersect1d(split.seen, split.novel)) == 0
    assert np.array_equal(np.union1d(split.seen, split.novel), np.arange(20))
    assert np.array_equal(np.unique(labels[split.train]), split.seen)
    assert len(split.train) == 14 * 5


@pytest.fixture
def labels():
    # 6 classes of uneven sizes, images interleaved so indices are not grouped by class.
    rng = np.random.RandomState(0)
    return rng.permutation(np.repeat(np.arange(6), [20, 20, 25, 30, 20, 40]))


def test_supports_nested_across_k(labels):
    novel = np.array([1, 3, 5])
    previous = None
    for k in (1, 5, 10, 15):
        supports = split_novel(labels, novel, k).supports
        assert len(supports) == k * len(novel)
        if previous is not None:
            assert np.isin(previous, supports).all()
        previous = supports


def test_valid_contains_supports(labels):
    split = split_novel(labels, np.array([0, 4]), 5)
    assert np.isin(split.supports, split.valid).all()


def test_valid_without_supports_switch(labels):
    split = split_novel(labels, np.array([0, 4]), 5, supports_in_valid=False)
    assert not np.isin(split.supports, split.valid).any()
    assert len(split.valid) == 2 * (16 - 5)


def test_test_disjoint_from_valid_and_supports(labels):
    split = split_novel(labels, np.array([2, 3, 5]), 5)
    assert not np.isin(split.test, split.valid).any()
    assert not np.isin(split.test, split.supports).any()
    every = np.concatenate([split.valid, split.test])
    assert np.array_equal(np.sort(every), np.flatnonzero(np.isin(labels, [2, 3, 5])))


def test_split_sizes_per_class(labels):
    split = split_novel(labels, np.array([3]), 5)
    assert len(split.valid) == 24  # floor(0.8 * 30)
    assert len(split.test) == 6


def test_split_seeded_by_class_label(labels):
    # The shuffle of class c uses RandomState(c): the result does not depend on which other
    # classes are novel.
    alone = split_novel(labels, np.array([3]), 5).supports
    together = split_novel(labels, np.array([1, 3]), 5).supports
    assert np.isin(alone, together).all()


def test_split_follows_protocol(labels):
    c = 5
    indices = np.sort(np.flatnonzero(labels == c))
    np.random.RandomState(c).shuffle(indices)
    split = split_novel(labels, np.array([c]), 3)
    assert np.array_equal(split.supports, np.sort(indices[:3]))
    assert np.array_equal(split.test, np.sort(indices[32:]))


def test_split_rejects_too_small_class():
    labels = np.repeat(np.arange(3), 6)
    with pytest.raises(ValueError, match="class 1 has 6 images"):
        split_novel(labels, np.array([1]), 5)


def test_split_classes_rejects_bad_novel_count():
    with pytest.raises(ValueError, match="n_novel"):
        split_classes(np.arange(5), 5, 5, seed=0)
