"""GAN evaluation metrics on feature vectors: FID, class-wise FID, KID and PRDC.

Every function takes real features first and generated ("fake") features second, each an
(N, D) float array from the same feature extractor. Statistics are computed in float64.
`compute_gan_metrics` bundles all metrics with their settings and library versions into the
dict that the pipeline writes as its results JSON, under keys built by `metric_key`.

Definitions:

* FID: Frechet distance between Gaussians fitted to the two feature sets (Heusel et al.
  2017), with unbiased (N - 1) covariances, as in pytorch-fid.
* KID: unbiased MMD^2 with the polynomial kernel k(x, y) = (x . y / D + 1)^3, averaged over
  random subsets (Binkowski et al. 2018).
* Precision, recall, density and coverage: k-nearest-neighbour manifold estimates of Naeem
  et al. 2020, with the same definitions as the `prdc` package 0.2.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import urllib.error
import urllib.parse
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy
import scipy.linalg
import torch
import torchvision
from torch import nn
from torch.nn import functional as F

logger = logging.getLogger(__name__)

# Offset added to both covariance diagonals when sqrtm of their product is not finite.
_SQRTM_DIAGONAL_OFFSET = 1e-6

# A negative FID below -this * (tr(sigma1) + tr(sigma2)) is logged as numerical failure
# before it is clamped to 0. Rounding alone stays far below this.
_NEGATIVE_FID_RELATIVE_TOLERANCE = 1e-6

# Upper bound on the number of elements (pairs x D) of one float64 distance batch.
_EXACT_DISTANCE_BATCH_ELEMENTS = 1 << 24

# Floating-point images may exceed [-1, 1] by this much (resampling overshoot, rounding).
_IMAGE_RANGE_TOLERANCE = 1e-3

_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------- keys


def metric_key(metric: str, extractor: str, n: int, split: str) -> str:
    """Build the results-JSON key of one metric, e.g. ``fid_clf_n3392_valid``.

    `metric` is the metric name (``fid``, ``kid_mean``, ...), `extractor` the extractor tag
    (``clf`` or ``inception``), `n` the number of generated samples and `split` the data
    split of the real images. Raises ValueError for an empty part, a part with characters
    other than letters, digits, ``_``, ``.`` and ``-``, or a negative `n`.
    """
    for label, value in (("metric", metric), ("extractor", extractor), ("split", split)):
        if not isinstance(value, str) or not _KEY_PART.match(value):
            raise ValueError(
                f"invalid {label} {value!r} for a metric key: use a non-empty string of "
                "letters, digits, '_', '.' or '-'"
            )
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"invalid sample count n={n!r} for a metric key: use an int >= 0")
    return f"{metric}_{extractor}_n{int(n)}_{split}"


# --------------------------------------------------------------------------- input checks


def _as_features(features: Any, name: str, min_rows: int = 1) -> np.ndarray:
    """Return `features` as a C-contiguous float64 (N, D) array, validated."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, D) array, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    if array.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature dimensions (shape {array.shape})")
    if array.shape[0] < min_rows:
        raise ValueError(
            f"{name} has {array.shape[0]} samples, but this metric needs at least {min_rows}"
        )
    array = np.ascontiguousarray(array, dtype=np.float64)
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values; check the extractor")
    return array


def _check_same_dim(real: np.ndarray, fake: np.ndarray) -> None:
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real features have D={real.shape[1]} but generated features have "
            f"D={fake.shape[1]}; extract both with the same extractor"
        )


def _as_labels(labels: Any, n: int, name: str) -> np.ndarray:
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n}, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must contain integer class ids, got dtype {array.dtype}")
    return array


# --------------------------------------------------------------------------- FID


def _mean_and_covariance(features: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the float64 mean and unbiased (N - 1) covariance of (N, D) features."""
    n, dim = features.shape
    if n <= dim:
        logger.warning(
            "%s: %d samples for %d feature dimensions, so the covariance has rank at most "
            "%d < %d and the Frechet distance is strongly biased; use more samples than "
            "dimensions for a trustworthy value",
            name, n, dim, n - 1, dim,
        )
    mean = features.mean(axis=0)
    covariance = np.atleast_2d(np.cov(features, rowvar=False))
    return mean, covariance


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Return scipy.linalg.sqrtm(matrix), with SciPy's warnings sent to the log."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        root = scipy.linalg.sqrtm(matrix)
    for warning in caught:
        logger.warning("scipy.linalg.sqrtm: %s", warning.message)
    return root


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Compute the Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrtm(sigma1 @ sigma2)), in the
    squared units of the features. The result is symmetric in the two Gaussians, so the
    order of real and generated statistics does not matter.

    Numerical safeguards: if sqrtm of the product is not finite, `_SQRTM_DIAGONAL_OFFSET`
    is added to both covariance diagonals and a warning is logged. The imaginary part of
    sqrtm (rounding noise for PSD inputs) is dropped, with a warning when it is large. A
    negative result is clamped to 0.0, with a warning when it is beyond rounding level.
    Raises ValueError when the shapes do not match.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,):
        raise ValueError(f"mean shapes {mu1.shape} and {mu2.shape} must both be ({dim},)")
    if sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"covariance shapes {sigma1.shape} and {sigma2.shape} must both be ({dim}, {dim})"
        )

    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        logger.warning(
            "sqrtm(sigma1 @ sigma2) is not finite because the product is near-singular; "
            "adding %g to both covariance diagonals",
            _SQRTM_DIAGONAL_OFFSET,
        )
        offset = np.eye(dim) * _SQRTM_DIAGONAL_OFFSET
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))

    trace_sum = float(np.trace(sigma1) + np.trace(sigma2))
    if np.iscomplexobj(covmean):
        max_imaginary = float(np.abs(covmean.imag).max())
        if max_imaginary > 1e-3 * max(1.0, trace_sum / dim):
            logger.warning(
                "sqrtm(sigma1 @ sigma2) has an imaginary component up to %g; it is dropped, "
                "but the distance may be inaccurate",
                max_imaginary,
            )
        covmean = covmean.real

    diff = mu1 - mu2
    distance = float(diff @ diff + trace_sum - 2.0 * np.trace(covmean))
    if distance < 0.0:
        if distance < -_NEGATIVE_FID_RELATIVE_TOLERANCE * max(1.0, trace_sum):
            logger.warning("Frechet distance %g is negative beyond rounding; returning 0", distance)
        distance = 0.0
    return distance


def fid(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """Compute the FID between real and generated (N, D) features.

    Means and unbiased covariances are computed in float64. Each set needs at least 2
    samples; with N <= D samples a warning is logged because the covariance is singular.
    Raises ValueError for mismatched D, fewer than 2 samples, or NaN/inf features.
    """
    real = _as_features(real_features, "real_features", min_rows=2)
    fake = _as_features(fake_features, "fake_features", min_rows=2)
    _check_same_dim(real, fake)
    mu_real, sigma_real = _mean_and_covariance(real, "real_features")
    mu_fake, sigma_fake = _mean_and_covariance(fake, "fake_features")
    return frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake)


def class_fid(
    real_features: np.ndarray,
    real_labels: np.ndarray,
    fake_features: np.ndarray,
    fake_labels: np.ndarray,
) -> tuple[float, dict[int, float]]:
    """Compute the FID per class and the unweighted mean over classes.

    Each class present in `real_labels` is compared with the generated samples of the same
    label. Returns (mean, {class_id: fid}). Raises ValueError if a real class has fewer
    than 2 real or generated samples.
    """
    real = _as_features(real_features, "real_features", min_rows=2)
    fake = _as_features(fake_features, "fake_features", min_rows=2)
    _check_same_dim(real, fake)
    real_y = _as_labels(real_labels, real.shape[0], "real_labels")
    fake_y = _as_labels(fake_labels, fake.shape[0], "fake_labels")

    per_class: dict[int, float] = {}
    for class_id in np.unique(real_y):
        real_c = real[real_y == class_id]
        fake_c = fake[fake_y == class_id]
        if real_c.shape[0] < 2 or fake_c.shape[0] < 2:
            raise ValueError(
                f"class {int(class_id)} has {real_c.shape[0]} real and {fake_c.shape[0]} "
                "generated samples; class FID needs at least 2 of each"
            )
        per_class[int(class_id)] = fid(real_c, fake_c)
    mean = float(np.mean(list(per_class.values())))
    return mean, per_class


# --------------------------------------------------------------------------- KID


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    subset_size: int = 1000,
    n_subsets: int = 100,
    seed: int = 0,
) -> tuple[float, float]:
    """Compute the KID between real and generated features as (mean, std) over subsets.

    Each of `n_subsets` rounds draws `subset_size` real and `subset_size` generated rows
    without replacement and computes the unbiased MMD^2 estimate with the kernel
    k(x, y) = (x . y / D + 1)^3, in the cubed units of the normalized dot product. The std
    is the population std (ddof=0) of the per-subset values. The mean can be slightly
    negative when both sets come from the same distribution. `subset_size` is capped at
    the smaller set size (logged at INFO). The draws come from
    numpy.random.default_rng(seed), so equal inputs and seed give equal results.
    Raises ValueError for subset_size < 2, n_subsets < 1 or sets with fewer than 2 rows.
    """
    if subset_size < 2:
        raise ValueError(f"subset_size={subset_size} is invalid: KID needs at least 2")
    if n_subsets < 1:
        raise ValueError(f"n_subsets={n_subsets} is invalid: use at least 1")
    real = _as_features(real_features, "real_features", min_rows=2)
    fake = _as_features(fake_features, "fake_features", min_rows=2)
    _check_same_dim(real, fake)

    m = min(subset_size, real.shape[0], fake.shape[0])
    if m < subset_size:
        logger.info(
            "KID subset size capped from %d to %d (real: %d, generated: %d samples)",
            subset_size, m, real.shape[0], fake.shape[0],
        )

    rng = np.random.default_rng(seed)
    values = np.empty(n_subsets, dtype=np.float64)
    for i in range(n_subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        k_xx = _polynomial_kernel(x, x)
        k_yy = _polynomial_kernel(y, y)
        k_xy = _polynomial_kernel(x, y)
        # Unbiased within-set terms leave out the diagonal k(x_i, x_i); the cross term
        # uses all pairs because x and y are independent samples.
        within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
        within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values[i] = within_x + within_y - 2.0 * k_xy.mean()
    return float(values.mean()), float(values.std())


# --------------------------------------------------------------------------- PRDC
#
# Distances are screened in tiles and decided in float64. A tile contains squared
# distances from the matrix-product form ||a||^2 + ||b||^2 - 2 a.b, in float32 when the
# float32 matmul is IEEE (float32 is much faster on GPUs) and in float64 otherwise.
# `_tile_error_bound` bounds its rounding error. Every pair whose comparison with a radius
# could flip within that bound is recomputed as sum((a - b)^2) in float64, and the counts
# use those values. So every decision equals the one made with float64 direct distances,
# whatever the tile dtype, and exact duplicates have distance 0. Only pairs near a radius
# need the float64 work, which is about nearest_k + 1 pairs per sample for continuous data.


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _float32_matmul_is_ieee(device: torch.device) -> bool:
    """Return whether torch's float32 matmul on `device` is configured as full IEEE float32.

    TF32 and bfloat16 modes round the inputs to 10 or 7 mantissa bits, which breaks the
    float32 error bound.
    """
    ieee = ("ieee", "none")
    if torch.get_float32_matmul_precision() != "highest":
        return False
    if getattr(torch.backends, "fp32_precision", "none") not in ieee:
        return False
    if device.type == "cuda":
        cuda_matmul = torch.backends.cuda.matmul
        return not cuda_matmul.allow_tf32 and getattr(cuda_matmul, "fp32_precision", "none") in ieee
    mkldnn_matmul = getattr(torch.backends.mkldnn, "matmul", None)
    return getattr(mkldnn_matmul, "fp32_precision", "none") in ieee


def _unit_roundoff(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).eps) / 2.0


def _tile_error_bound(dim: int, dtype: torch.dtype, squared_norm_sum: float) -> float:
    """Bound |tile value - float64 distance| for one pair, given S = max ||a||^2 + max ||b||^2.

    Let u be the unit roundoff of the tile dtype and a, b the centred vectors. Centring and
    rounding the inputs move a squared distance by at most about 4u S. The D-term dot
    product adds at most D u S for any summation order, and the norms and the two additions
    add 6u S. The float64 reference sum((a - b)^2) of the uncentred vectors is itself within
    about 2 (D + 2) u S of the true value. The bound is twice the sum of these, plus room
    for rounding the radius thresholds to the tile dtype.
    """
    return (6 * dim + 64) * _unit_roundoff(dtype) * squared_norm_sum


def _squared_distance_tile(
    a: torch.Tensor, b: torch.Tensor, a_sq: torch.Tensor, b_sq: torch.Tensor
) -> torch.Tensor:
    """Return the (len(a), len(b)) squared distances by the matrix-product form, clamped at 0."""
    tile = torch.addmm(b_sq.unsqueeze(0), a, b.T, alpha=-2.0)
    return tile.add_(a_sq.unsqueeze(1)).clamp_(min=0.0)


def _exact_squared_distances(
    a: torch.Tensor, b: torch.Tensor, a_rows: torch.Tensor, b_rows: torch.Tensor
) -> torch.Tensor:
    """Return sum((a[a_rows] - b[b_rows])^2) per pair, in float64, in bounded batches."""
    out = torch.empty(a_rows.numel(), dtype=torch.float64, device=a.device)
    step = max(1, _EXACT_DISTANCE_BATCH_ELEMENTS // a.shape[1])
    for start in range(0, a_rows.numel(), step):
        stop = start + step
        difference = a[a_rows[start:stop]].sub_(b[b_rows[start:stop]])
        out[start:stop] = difference.square_().sum(dim=1)
    return out


class _TiledSet:
    """One feature set in float64 (for exact distances) and centred in the tile dtype."""

    def __init__(self, exact: torch.Tensor, center: torch.Tensor, tile_dtype: torch.dtype) -> None:
        self.exact = exact
        self.fast = (exact - center).to(tile_dtype)
        fast_sq = self.fast.double().square().sum(dim=1)
        self.fast_sq = fast_sq.to(tile_dtype)
        # Rounding to the tile dtype changes the norms by about 2u, which the bound's
        # safety factor of 2 absorbs.
        self.max_sq = float(fast_sq.max())
        self.size = exact.shape[0]

    def tile(self, other: _TiledSet, rows: slice, cols: slice) -> torch.Tensor:
        return _squared_distance_tile(
            self.fast[rows], other.fast[cols], self.fast_sq[rows], other.fast_sq[cols]
        )


def _choose_tile_dtype(real: torch.Tensor, fake: torch.Tensor) -> torch.dtype:
    """Return float32 on CUDA if its matmul is IEEE and a probe tile stays within the bound.

    `real` and `fake` are the centred float64 features. CPUs get float64, because there
    the float32 tiles saved under 30% of the tile time in the fsgan benchmark (2-core
    Xeon, N = 2,000 to 8,192) while the conversions and the probe cost more than that.
    """
    device = real.device
    if device.type != "cuda":
        return torch.float64
    # NOTE: this CUDA float32 path has not run on a GPU. The tests run float32 tiles on
    # the CPU through _prdc_tiled and check that they give the float64 results.
    if not _float32_matmul_is_ieee(device):
        logger.info("float32 matmul on %s is not IEEE; PRDC tiles use float64", device)
        return torch.float64
    # Squared norms above ~1e30 would overflow float32 products.
    largest = max(float(real.abs().max()), float(fake.abs().max()))
    if largest * largest * real.shape[1] > 1e30:
        logger.info("features up to %g would overflow float32; PRDC tiles use float64", largest)
        return torch.float64

    # A probe catches reduced-precision BLAS modes that torch's flags do not report.
    no_shift = torch.zeros(real.shape[1], dtype=real.dtype, device=device)
    probe_real = _TiledSet(real[:32], no_shift, torch.float32)
    probe_fake = _TiledSet(fake[:32], no_shift, torch.float32)
    tile = probe_real.tile(probe_fake, slice(None), slice(None)).double()
    rows, cols = torch.meshgrid(
        torch.arange(tile.shape[0], device=device),
        torch.arange(tile.shape[1], device=device),
        indexing="ij",
    )
    exact = _exact_squared_distances(real, fake, rows.flatten(), cols.flatten())
    error = float((tile.flatten() - exact).abs().max())
    bound = _tile_error_bound(real.shape[1], torch.float32, probe_real.max_sq + probe_fake.max_sq)
    if error > bound / 4:
        logger.warning(
            "float32 matmul error %g exceeds a quarter of its bound %g; PRDC tiles use float64",
            error, bound,
        )
        return torch.float64
    return torch.float32


def _merge_smallest(
    values: torch.Tensor,
    indices: torch.Tensor,
    tile: torch.Tensor,
    column_offset: int,
    dim: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge the smallest entries of `tile` along `dim` into the running (values, indices)."""
    count = values.shape[1]
    top = tile.topk(min(count, tile.shape[dim]), dim=dim, largest=False)
    top_values, top_indices = top.values, top.indices + column_offset
    if dim == 0:
        top_values, top_indices = top_values.T, top_indices.T
    merged = torch.cat([values, top_values], dim=1).topk(count, dim=1, largest=False)
    return merged.values, torch.cat([indices, top_indices], dim=1).gather(1, merged.indices)


def _kth_smallest_per_row(
    rows: torch.Tensor, values: torch.Tensor, n_rows: int, k: int
) -> torch.Tensor:
    """Return the k-th smallest of `values` within each row id 0..n_rows-1 (1-based k)."""
    if n_rows == 0:
        return values.new_empty(0)
    order = torch.argsort(values)
    order = order[torch.argsort(rows[order], stable=True)]
    counts = torch.bincount(rows, minlength=n_rows)
    if int(counts.min()) < k:
        raise RuntimeError(
            f"PRDC screening kept {int(counts.min())} neighbours for some sample, fewer than "
            f"nearest_k + 1 = {k}, so the tile error bound was violated. This is a bug in "
            "fsgan.metrics; please report it with the feature arrays."
        )
    starts = torch.cumsum(counts, dim=0) - counts
    return values[order[starts + (k - 1)]]


class _NeighbourRadii:
    """Squared k-NN radii of one set: tile estimates now, float64 values on request.

    The radius of a sample is its (nearest_k + 1)-th smallest squared distance within its
    set, counting the zero distance to itself, as in the prdc package. `estimate` is the
    radius in tile values and is within `error` of the float64 radius, because the k-th
    smallest value moves by at most the tile error bound. `exact(ids)` returns float64
    radii and computes only those that a comparison needs.
    """

    def __init__(self, features: _TiledSet, nearest_k: int, chunk_size: int) -> None:
        self.features = features
        # The radius is the rank-th smallest distance, counting the self-distance.
        self.rank = nearest_k + 1
        self.chunk_size = chunk_size
        self.values, self.indices = _smallest_tile_values(features, self.rank + 8, chunk_size)
        self.error = _tile_error_bound(
            features.exact.shape[1], features.fast.dtype, 2 * features.max_sq
        )
        self.estimate = self.values[:, self.rank - 1].double()
        # Every sample whose float64 distance is at most the true radius has a tile value
        # within `window`.
        self.window = self.estimate + 2 * self.error
        self._exact = torch.full_like(self.estimate, float("nan"))
        self._known = torch.zeros(features.size, dtype=torch.bool, device=self.estimate.device)

    def exact(self, ids: torch.Tensor) -> torch.Tensor:
        """Return the float64 squared radii of samples `ids`."""
        missing = torch.unique(ids[~self._known[ids]])
        if missing.numel():
            self._exact[missing] = self._compute(missing)
            self._known[missing] = True
        return self._exact[ids]

    def _compute(self, ids: torch.Tensor) -> torch.Tensor:
        in_window = self.values[ids].double() <= self.window[ids].unsqueeze(1)
        # When the window reaches the last candidate, samples beyond the candidates may fall
        # inside it too, so those radii need a pass over the whole set.
        if self.values.shape[1] < self.features.size:
            unresolved = in_window[:, -1]
        else:
            unresolved = torch.zeros(ids.numel(), dtype=torch.bool, device=ids.device)
        resolved = ~unresolved
        radii = torch.empty(ids.numel(), dtype=torch.float64, device=ids.device)

        rows, slots = torch.nonzero(in_window & resolved.unsqueeze(1), as_tuple=True)
        distances = _exact_squared_distances(
            self.features.exact, self.features.exact, ids[rows], self.indices[ids[rows], slots]
        )
        compact_rows = (torch.cumsum(resolved, dim=0) - 1)[rows]
        radii[resolved] = _kth_smallest_per_row(
            compact_rows, distances, int(resolved.sum()), self.rank
        )

        if bool(unresolved.any()):
            logger.info(
                "PRDC: %d radii have ties or duplicates near the k-th neighbour and need a "
                "pass over all %d samples", int(unresolved.sum()), self.features.size,
            )
            radii[unresolved] = _radii_by_window(
                self.features, ids[unresolved], self.window[ids[unresolved]], self.rank,
                self.chunk_size,
            )
        return radii


def _smallest_tile_values(
    features: _TiledSet, count: int, chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the `count` smallest tile values per sample within its set, with their indices.

    The diagonal (self-distance) is set to 0. Only tiles on and above the block diagonal
    are computed, since the distance matrix is symmetric.
    """
    n = features.size
    count = min(n, count)
    device = features.exact.device
    values = torch.full((n, count), float("inf"), dtype=features.fast.dtype, device=device)
    indices = torch.zeros((n, count), dtype=torch.int64, device=device)
    for i0 in range(0, n, chunk_size):
        rows = slice(i0, min(i0 + chunk_size, n))
        for j0 in range(i0, n, chunk_size):
            cols = slice(j0, min(j0 + chunk_size, n))
            tile = features.tile(features, rows, cols)
            if i0 == j0:
                tile.fill_diagonal_(0.0)
            values[rows], indices[rows] = _merge_smallest(
                values[rows], indices[rows], tile, j0, dim=1
            )
            if j0 != i0:
                values[cols], indices[cols] = _merge_smallest(
                    values[cols], indices[cols], tile, i0, dim=0
                )
    return values, indices


def _radii_by_window(
    features: _TiledSet,
    sample_ids: torch.Tensor,
    window: torch.Tensor,
    rank: int,
    chunk_size: int,
) -> torch.Tensor:
    """Return the float64 rank-th smallest squared distance of each of `sample_ids`.

    Only neighbours whose tile value is at most `window` are recomputed in float64.
    `window` is the tile-value radius plus twice the error bound. Every neighbour with a
    float64 distance up to the true radius lies inside it, because the rank-th smallest
    value moves by at most the bound.
    """
    pair_rows, pair_cols = [], []
    for start in range(0, sample_ids.numel(), chunk_size):
        ids = sample_ids[start : start + chunk_size]
        limit = window[start : start + chunk_size].to(features.fast.dtype).unsqueeze(1)
        for j0 in range(0, features.size, chunk_size):
            cols = slice(j0, min(j0 + chunk_size, features.size))
            tile = _squared_distance_tile(
                features.fast[ids], features.fast[cols], features.fast_sq[ids],
                features.fast_sq[cols],
            )
            rows, columns = torch.nonzero(tile <= limit, as_tuple=True)
            pair_rows.append(rows + start)
            pair_cols.append(columns + j0)
    rows = torch.cat(pair_rows)
    cols = torch.cat(pair_cols)
    exact = _exact_squared_distances(features.exact, features.exact, sample_ids[rows], cols)
    return _kth_smallest_per_row(rows, exact, sample_ids.numel(), rank)


def prdc(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    nearest_k: int = 3,
    chunk_size: int = 4096,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """Compute precision, recall, density and coverage of generated vs real features.

    Definitions (Naeem et al. 2020, as in the prdc package 0.2), with r(x) the distance
    from x to its nearest_k-th nearest neighbour within its own set:

    * precision: fraction of generated samples within r(x) of some real sample x;
    * recall: fraction of real samples within r(y) of some generated sample y;
    * density: number of (real x, generated y) pairs with d(x, y) < r(x), divided by
      nearest_k * N_fake (can exceed 1);
    * coverage: fraction of real samples x whose nearest generated sample is within r(x).

    All comparisons are strict and use float64 distances, so exact duplicates have
    distance 0. Torch runs on `device` (CUDA when None and available, else CPU), one
    chunk_size x chunk_size tile at a time. No N x N matrix is held, so the extra memory is
    a few times chunk_size^2 * 8 bytes. Runtime grows with the number of pairs near a
    radius, which stays near nearest_k per sample unless many samples are duplicates.
    Raises ValueError when a set has at most nearest_k samples.
    """
    if nearest_k < 1:
        raise ValueError(f"nearest_k={nearest_k} is invalid: use at least 1")
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size} is invalid: use at least 1")
    real_np = _as_features(real_features, "real_features", min_rows=nearest_k + 1)
    fake_np = _as_features(fake_features, "fake_features", min_rows=nearest_k + 1)
    _check_same_dim(real_np, fake_np)

    torch_device = _resolve_device(device)
    real = torch.from_numpy(real_np).to(torch_device)
    fake = torch.from_numpy(fake_np).to(torch_device)
    # Distances do not change under a shift, and centring shrinks the norms that bound
    # the rounding error of the tiles.
    center = real.mean(dim=0)
    with torch.no_grad():
        tile_dtype = _choose_tile_dtype(real - center, fake - center)
        return _prdc_tiled(real, fake, center, nearest_k, chunk_size, tile_dtype)


def _prdc_tiled(
    real_exact: torch.Tensor,
    fake_exact: torch.Tensor,
    center: torch.Tensor,
    nearest_k: int,
    chunk_size: int,
    tile_dtype: torch.dtype,
) -> dict[str, float]:
    real = _TiledSet(real_exact, center, tile_dtype)
    fake = _TiledSet(fake_exact, center, tile_dtype)
    real_radii = _NeighbourRadii(real, nearest_k, chunk_size)
    fake_radii = _NeighbourRadii(fake, nearest_k, chunk_size)

    # A pair is inside a ball for sure when its tile value is below the radius estimate by
    # more than the tile error plus the radius error, and outside for sure when it is above
    # by as much. Only pairs in between get a float64 distance and a float64 radius.
    tile_error = _tile_error_bound(real_exact.shape[1], tile_dtype, real.max_sq + fake.max_sq)
    real_margin = tile_error + real_radii.error
    fake_margin = tile_error + fake_radii.error
    real_lower = (real_radii.estimate - real_margin).to(tile_dtype).unsqueeze(1)
    real_upper = (real_radii.estimate + real_margin).to(tile_dtype).unsqueeze(1)
    fake_lower = (fake_radii.estimate - fake_margin).to(tile_dtype).unsqueeze(0)
    fake_upper = (fake_radii.estimate + fake_margin).to(tile_dtype).unsqueeze(0)

    device = real_exact.device
    # Per generated sample: how many real balls B(x, r(x)) contain it.
    fake_in_real_balls = torch.zeros(fake.size, dtype=torch.int64, device=device)
    # Per real sample: whether some generated sample lies in B(x, r(x)), and whether it
    # lies in some generated ball B(y, r(y)).
    real_ball_covered = torch.zeros(real.size, dtype=torch.bool, device=device)
    real_in_fake_ball = torch.zeros(real.size, dtype=torch.bool, device=device)
    for i0 in range(0, real.size, chunk_size):
        rows = slice(i0, min(i0 + chunk_size, real.size))
        for j0 in range(0, fake.size, chunk_size):
            cols = slice(j0, min(j0 + chunk_size, fake.size))
            tile = real.tile(fake, rows, cols)

            in_real_ball = tile < real_lower[rows]
            in_fake_ball = tile < fake_lower[:, cols]
            fake_in_real_balls[cols] += in_real_ball.sum(dim=0, dtype=torch.int32)
            real_ball_covered[rows] |= in_real_ball.any(dim=1)
            real_in_fake_ball[rows] |= in_fake_ball.any(dim=1)

            real_undecided = (tile < real_upper[rows]) ^ in_real_ball
            fake_undecided = (tile < fake_upper[:, cols]) ^ in_fake_ball
            tile_rows, tile_cols = torch.nonzero(real_undecided | fake_undecided, as_tuple=True)
            if tile_rows.numel() == 0:
                continue
            real_ids, fake_ids = tile_rows + i0, tile_cols + j0
            distances = _exact_squared_distances(real_exact, fake_exact, real_ids, fake_ids)

            check = real_undecided[tile_rows, tile_cols]
            inside = distances[check] < real_radii.exact(real_ids[check])
            fake_in_real_balls += torch.bincount(fake_ids[check][inside], minlength=fake.size)
            real_ball_covered[real_ids[check][inside]] = True

            check = fake_undecided[tile_rows, tile_cols]
            inside = distances[check] < fake_radii.exact(fake_ids[check])
            real_in_fake_ball[real_ids[check][inside]] = True

    return {
        "precision": float((fake_in_real_balls > 0).double().mean()),
        "recall": float(real_in_fake_ball.double().mean()),
        "density": float(fake_in_real_balls.sum().double() / (nearest_k * fake.size)),
        "coverage": float(real_ball_covered.double().mean()),
    }


# --------------------------------------------------------------------------- extractors


@runtime_checkable
class FeatureExtractor(Protocol):
    """Callable that maps images (B, 3, H, W) in [-1, 1] to features (B, dim).

    `name` is the short tag used in metric keys (``clf``, ``inception``).
    """

    name: str
    dim: int

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


class ClassifierExtractor(nn.Module):
    """Features of a trained classifier: ``model.features(x)`` with shape (B, D).

    `model` is any torch module with a `features` method, such as fsgan's ResNet-18.
    `dim` is taken from the argument, else from ``model.feature_dim``; if neither is
    given it stays None until the first call sets it.
    """

    name = "clf"

    def __init__(self, model: nn.Module, dim: int | None = None) -> None:
        super().__init__()
        if not callable(getattr(model, "features", None)):
            raise TypeError(
                f"{type(model).__name__} has no callable `features` method; "
                "ClassifierExtractor needs one that returns (B, D) features"
            )
        self.model = model
        self.dim = dim if dim is not None else getattr(model, "feature_dim", None)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.model.features(images)
        if features.ndim != 2:
            raise ValueError(
                f"{type(self.model).__name__}.features returned shape "
                f"{tuple(features.shape)}; expected (B, D)"
            )
        if self.dim is None:
            self.dim = int(features.shape[1])
        return features


def _fid_inception_weights_url() -> str:
    from pytorch_fid.inception import FID_WEIGHTS_URL

    return FID_WEIGHTS_URL


# Environment variable that overrides the URL of the FID Inception weights (e.g. a mirror).
INCEPTION_WEIGHTS_URL_ENV = "FSGAN_INCEPTION_WEIGHTS_URL"

# File name of the FID Inception weights in pytorch-fid 0.3.0, also their cache file name.
INCEPTION_WEIGHTS_FILE = os.path.basename(
    urllib.parse.urlparse(_fid_inception_weights_url()).path
)


class InceptionWeightsNotFoundError(FileNotFoundError):
    """The FID Inception weights file is neither on disk nor downloadable."""


def _build_fid_inception_v3() -> nn.Module:
    """Build the FID variant of Inception-v3 (pytorch-fid 0.3.0) with random weights.

    This is torchvision's Inception3 with 1008 classes and no auxiliary head, whose mixed
    blocks are replaced by pytorch-fid's FID patches (TensorFlow-style pooling). Its
    state_dict keys match pytorch-fid's weights file. Unlike
    pytorch_fid.inception.fid_inception_v3, it downloads nothing.
    """
    from pytorch_fid import inception as pfi

    net = torchvision.models.inception_v3(
        weights=None, aux_logits=False, num_classes=1008, init_weights=False
    )
    net.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pfi.FIDInceptionE_1(1280)
    net.Mixed_7c = pfi.FIDInceptionE_2(2048)
    return net


def _download_hint(url: str, cached: Path) -> str:
    return (
        f"Download {url} and either save it as {cached} or pass its path as weights_path "
        f"(URL override: argument `url` or ${INCEPTION_WEIGHTS_URL_ENV})."
    )


def _locate_inception_weights(
    weights_path: str | os.PathLike[str] | None, url: str | None, allow_download: bool
) -> Path:
    """Return the path of the FID Inception weights, downloading them into the cache if allowed.

    Search order: `weights_path`, then ``torch.hub.get_dir()/checkpoints/<file>``, then a
    download from `url`, ${INCEPTION_WEIGHTS_URL_ENV} or pytorch-fid's URL into that cache
    path. Raises InceptionWeightsNotFoundError naming the file, the paths searched and the
    download URL.
    """
    url = url or os.environ.get(INCEPTION_WEIGHTS_URL_ENV) or _fid_inception_weights_url()
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE

    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise InceptionWeightsNotFoundError(
                f"Inception weights file {path} not found (expected pytorch-fid's "
                f"{INCEPTION_WEIGHTS_FILE}). " + _download_hint(url, cached)
            )
        return path

    if cached.is_file():
        return cached

    if not allow_download:
        raise InceptionWeightsNotFoundError(
            f"Inception weights {INCEPTION_WEIGHTS_FILE} not found at {cached} and "
            "allow_download=False. " + _download_hint(url, cached)
        )

    logger.info("downloading Inception weights from %s to %s", url, cached)
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Writes to a temporary file and renames it on success, so a failed download
        # leaves no partial file at `cached`.
        torch.hub.download_url_to_file(url, str(cached), progress=False)
    except (urllib.error.URLError, OSError) as error:
        raise InceptionWeightsNotFoundError(
            f"Inception weights {INCEPTION_WEIGHTS_FILE} not found at {cached}, and the "
            f"download from {url} failed: {error}. " + _download_hint(url, cached)
        ) from error
    return cached


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class InceptionExtractor(nn.Module):
    """Pool3 (2048-d) features of the FID Inception-v3 network, as in pytorch-fid 0.3.0.

    Input images (B, 3, H, W) in [-1, 1] are mapped to [0, 1], bilinearly resized to
    299 x 299 and mapped back to [-1, 1], which is the preprocessing of pytorch-fid's
    InceptionV3 with its defaults. Weights come from `weights_path`, else from
    ``torch.hub.get_dir()/checkpoints/pt_inception-2015-12-05-6726825d.pth``, else are
    downloaded there from `url` (or ${FSGAN_INCEPTION_WEIGHTS_URL}, or pytorch-fid's URL)
    when `allow_download` is True. They are loaded strictly. `weights_file` and
    `weights_sha256` record which file was loaded.

    Raises InceptionWeightsNotFoundError when no weights file is found or downloaded, and
    RuntimeError when the file is not a matching state dict.
    """

    name = "inception"
    dim = 2048

    def __init__(
        self,
        weights_path: str | os.PathLike[str] | None = None,
        *,
        url: str | None = None,
        allow_download: bool = True,
    ) -> None:
        super().__init__()
        path = _locate_inception_weights(weights_path, url, allow_download)
        net = _build_fid_inception_v3()
        try:
            state_dict = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state_dict, strict=True)
        except pickle.UnpicklingError:
            # torch's own message here suggests weights_only=False, which would run code
            # from an untrusted file; the fix is a good weights file instead.
            raise RuntimeError(
                f"failed to load Inception weights from {path}: the file is not a PyTorch "
                f"state dict. It must be pytorch-fid's {INCEPTION_WEIGHTS_FILE} (config key "
                "metrics.inception_weights); delete it and download it again."
            ) from None
        except (RuntimeError, ValueError, OSError, EOFError) as error:
            raise RuntimeError(
                f"failed to load Inception weights from {path}: {error}. The file must be "
                f"pytorch-fid's {INCEPTION_WEIGHTS_FILE}; delete it and download it again."
            ) from error
        self.weights_file = str(path)
        self.weights_sha256 = _sha256(path)
        logger.info("loaded Inception weights %s (sha256 %s)", path, self.weights_sha256)

        # Same layer sequence as pytorch-fid's InceptionV3 up to its block 3 (pool3).
        self.layers = nn.Sequential(
            net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            net.Conv2d_3b_1x1, net.Conv2d_4a_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            net.Mixed_5b, net.Mixed_5c, net.Mixed_5d,
            net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d, net.Mixed_6e,
            net.Mixed_7a, net.Mixed_7b, net.Mixed_7c,
            nn.AdaptiveAvgPool2d(output_size=(1, 1)),
        )
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        unit = (images + 1.0) / 2.0
        unit = F.interpolate(unit, size=(299, 299), mode="bilinear", align_corners=False)
        return torch.flatten(self.layers(2.0 * unit - 1.0), 1)


def _images_to_batch(batch: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    """Convert a uint8 or float image batch (B, C, H, W) to float32 in [-1, 1] on `device`."""
    tensor = torch.as_tensor(batch).to(device)
    if tensor.dtype == torch.uint8:
        tensor = tensor.float() / 127.5 - 1.0
    elif tensor.is_floating_point():
        tensor = tensor.float()
        low, high = float(tensor.min()), float(tensor.max())
        if low < -1.0 - _IMAGE_RANGE_TOLERANCE or high > 1.0 + _IMAGE_RANGE_TOLERANCE:
            raise ValueError(
                f"float images must be in [-1, 1], got values in [{low:g}, {high:g}]; "
                "map [0, 1] images with 2 * x - 1, or pass uint8 images"
            )
    else:
        raise TypeError(f"images must be uint8 or floating point, got {tensor.dtype}")
    if tensor.shape[1] == 1:
        tensor = tensor.expand(-1, 3, -1, -1)
    return tensor


def extract_features(
    extractor: FeatureExtractor | Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor | np.ndarray,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Run `extractor` over `images` in batches and return float32 features (N, dim).

    `images` is (N, C, H, W) with C in {1, 3}: floats in [-1, 1], or uint8 in [0, 255],
    which are mapped by x / 127.5 - 1. One channel is replicated to three. A module
    extractor is moved to `device` (CUDA when None and available, else CPU) and run in
    eval mode under torch.no_grad. Afterwards each submodule gets back its train/eval
    mode. Features do not depend on `batch_size` beyond float32 rounding.
    Raises ValueError for a bad shape, out-of-range floats or a bad extractor output.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} is invalid: use at least 1")
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, C, H, W) with C in {{1, 3}}, got {shape}")
    if shape[0] == 0:
        raise ValueError("images is empty (N = 0); there is nothing to extract")

    torch_device = _resolve_device(device)
    modes: dict[nn.Module, bool] = {}
    if isinstance(extractor, nn.Module):
        modes = {module: module.training for module in extractor.modules()}
        extractor.to(torch_device)
        extractor.eval()

    outputs = []
    try:
        with torch.no_grad():
            for start in range(0, shape[0], batch_size):
                batch = _images_to_batch(images[start : start + batch_size], torch_device)
                features = extractor(batch)
                if features.ndim != 2 or features.shape[0] != batch.shape[0]:
                    raise ValueError(
                        f"extractor returned shape {tuple(features.shape)} for a batch of "
                        f"{batch.shape[0]} images; expected ({batch.shape[0]}, dim)"
                    )
                expected_dim = getattr(extractor, "dim", None)
                if expected_dim is not None and features.shape[1] != expected_dim:
                    raise ValueError(
                        f"extractor returned {features.shape[1]} features per image, "
                        f"but its dim attribute is {expected_dim}"
                    )
                outputs.append(features.float().cpu().numpy())
    finally:
        for module, training in modes.items():
            module.train(training)
    return np.concatenate(outputs, axis=0)


# --------------------------------------------------------------------------- bundle


def compute_gan_metrics(
    real_features: np.ndarray,
    real_labels: np.ndarray,
    fake_features: np.ndarray,
    fake_labels: np.ndarray,
    *,
    extractor: str,
    split: str,
    nearest_k: int = 3,
    kid_subset_size: int = 1000,
    kid_subsets: int = 100,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> dict[str, dict[str, Any]]:
    """Compute FID, class FID, KID and PRDC, and return them with their settings.

    `extractor` is the extractor tag (its `name`) and `split` the split of the real images.
    Returns ``{"metrics": ..., "settings": ...}``. Metric keys come from `metric_key` with
    n = number of generated samples: fid, cfid (mean class FID), kid_mean, kid_std,
    precision, recall, density, coverage, and cfid_per_class mapping str(class id) to its
    FID. Class ids are strings so that the dict equals its JSON round trip. "settings"
    records every setting that changes a value, and the numpy, scipy and torch versions.
    """
    real = _as_features(real_features, "real_features", min_rows=2)
    fake = _as_features(fake_features, "fake_features", min_rows=2)
    _check_same_dim(real, fake)
    n_fake = fake.shape[0]

    def key(metric: str) -> str:
        return metric_key(metric, extractor, n_fake, split)

    fid_value = fid(real, fake)
    cfid_mean, cfid_per_class = class_fid(real, real_labels, fake, fake_labels)
    kid_mean, kid_std = kid(real, fake, kid_subset_size, kid_subsets, seed)
    manifold = prdc(real, fake, nearest_k=nearest_k, device=device)

    metrics: dict[str, Any] = {
        key("fid"): fid_value,
        key("cfid"): cfid_mean,
        key("cfid_per_class"): {str(c): v for c, v in cfid_per_class.items()},
        key("kid_mean"): kid_mean,
        key("kid_std"): kid_std,
    }
    for name in ("precision", "recall", "density", "coverage"):
        metrics[key(name)] = manifold[name]

    settings: dict[str, Any] = {
        "extractor": extractor,
        "split": split,
        "n_real": int(real.shape[0]),
        "n_fake": int(n_fake),
        "feature_dim": int(real.shape[1]),
        "classes": sorted(int(c) for c in cfid_per_class),
        "fid_covariance": "unbiased (N - 1), float64",
        "nearest_k": int(nearest_k),
        "prdc_distance": "euclidean, float64",
        "kid_kernel": "(x . y / D + 1)^3",
        "kid_subset_size": int(min(kid_subset_size, real.shape[0], n_fake)),
        "kid_subset_size_requested": int(kid_subset_size),
        "kid_subsets": int(kid_subsets),
        "seed": int(seed),
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "torch": torch.__version__,
        },
    }
    return {"metrics": metrics, "settings": settings}
