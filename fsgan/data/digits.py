"""scikit-learn's bundled handwritten digits: no file and no download needed.

1,797 images of 10 classes (174 to 183 per class), 8x8 pixels of ink intensity
0-16, so strokes are bright on a black background. Values are scaled to 0-255 and
the images resized to 32x32, which blurs them: results on this set show that the
pipeline runs, not how well the method works.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits as load_sklearn_digits

from fsgan.data.base import ImageDataset, resize_images

MAX_VALUE = 16
CLASS_NAMES = tuple("0123456789")


def load_digits(paths: tuple[Path, ...] = ()) -> ImageDataset:
    """Load the digits; `paths` is empty because the data ship with scikit-learn."""
    bunch = load_sklearn_digits()
    images = np.round(bunch.images * (255 / MAX_VALUE)).astype(np.uint8)
    return ImageDataset(name="digits", images=resize_images(images[:, None]),
                        labels=bunch.target.astype(np.int64),
                        class_names=CLASS_NAMES)
