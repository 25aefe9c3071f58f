"""Differentiable augmentation applied to every discriminator input.

Each transform is drawn independently per image with probability p: a horizontal
flip, a rotation by a multiple of 90 degrees, an integer translation of up to 1/8
of the image side, and a rotation by an arbitrary angle. The transforms are
composed into one affine map per image and applied with `grid_sample`, so
gradients flow back to the generator. p = 0 returns the input unchanged.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def augment(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment images (B, C, H, W) in [-1, 1]; each transform fires with probability p."""
    if p <= 0:
        return x
    batch, _, height, width = x.shape
    options = {"device": x.device, "generator": generator}

    def fires() -> torch.Tensor:
        return (torch.rand(batch, **options) < p).float()

    # Each transform as (B, 3, 3) matrices in normalised coordinates, identity where it
    # does not fire.
    flip = 1 - 2 * fires()
    quarter_turns = torch.randint(0, 4, (batch,), **options).float() * fires()
    shift = torch.randint(-(width // 8), width // 8 + 1, (batch, 2), **options).float()
    shift = shift * fires()[:, None] * 2 / torch.tensor([width, height], device=x.device)
    angle = (torch.rand(batch, **options) * 2 - 1) * math.pi * fires()
    theta = quarter_turns * (math.pi / 2) + angle

    cos, sin = torch.cos(theta), torch.sin(theta)
    matrix = torch.zeros(batch, 2, 3, device=x.device)
    matrix[:, 0, 0] = cos * flip
    matrix[:, 0, 1] = -sin
    matrix[:, 1, 0] = sin * flip
    matrix[:, 1, 1] = cos
    matrix[:, :, 2] = shift
    grid = F.affine_grid(matrix.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
