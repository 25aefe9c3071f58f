"""Spectrally normalised ResNet discriminator with a projection head and a latent head.

Trunk: an optimised first block 3 -> ndf with average pooling, down blocks
ndf -> 2 ndf -> 4 ndf -> 8 ndf, one 8 ndf block without downsampling, ReLU and
global average pooling give h (B, 8 ndf). psi = SN-linear + ReLU, phi = SN-linear
to one logit. The conditional logit is phi(psi(h)) + <embed(y), psi(h)>, the
unconditional logit phi(psi(h)). The latent head predicts z from h.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm


def sn_conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel_size, 1, kernel_size // 2))


def sn_linear(in_features: int, out_features: int) -> nn.Module:
    return spectral_norm(nn.Linear(in_features, out_features))


class OptimizedBlock(nn.Module):
    """First block: conv, ReLU, conv, average pool; shortcut average pool then 1x1 conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = sn_conv(in_channels, out_channels, 3)
        self.conv2 = sn_conv(out_channels, out_channels, 3)
        self.shortcut = sn_conv(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class DownBlock(nn.Module):
    """Pre-activation residual block: ReLU, conv, ReLU, conv, optional average pool."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool) -> None:
        super().__init__()
        self.conv1 = sn_conv(in_channels, out_channels, 3)
        self.conv2 = sn_conv(out_channels, out_channels, 3)
        self.downsample = downsample
        self.shortcut = (sn_conv(in_channels, out_channels, 1)
                         if in_channels != out_channels or downsample else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        shortcut = self.shortcut(x)
        if self.downsample:
            h, shortcut = F.avg_pool2d(h, 2), F.avg_pool2d(shortcut, 2)
        return h + shortcut


class Discriminator(nn.Module):
    def __init__(self, num_classes: int, ndf: int = 64, z_dim: int = 64,
                 latent_sn_output: bool = True) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            OptimizedBlock(3, ndf),
            DownBlock(ndf, 2 * ndf, downsample=True),
            DownBlock(2 * ndf, 4 * ndf, downsample=True),
            DownBlock(4 * ndf, 8 * ndf, downsample=True),
            DownBlock(8 * ndf, 8 * ndf, downsample=False),
        )
        width = 8 * ndf
        self.psi = sn_linear(width, width)
        self.phi = sn_linear(width, 1)
        self.embedding = nn.Embedding(num_classes, width)
        # The last layer is not spectrally normalised when `latent_sn_output` is False:
        # behind a 1-Lipschitz trunk and average pooling, h varies far less than z, so
        # a 1-Lipschitz head cannot regress z at all and its loss stays at sigma^2.
        last = sn_linear(width, z_dim) if latent_sn_output else nn.Linear(width, z_dim)
        self.latent_head = nn.Sequential(sn_linear(width, width), nn.ReLU(),
                                         sn_linear(width, width), nn.ReLU(), last)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (B, 3, 32, 32) to h (B, 8 ndf)."""
        return F.relu(self.trunk(x)).mean(dim=(2, 3))

    def heads(self, h: torch.Tensor, y: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the conditional logit (B,), the unconditional logit (B,) and predicted z.

        Without labels (`y` is None) the conditional logit equals the unconditional one.
        """
        p = F.relu(self.psi(h))
        unconditional = self.phi(p).squeeze(1)
        conditional = unconditional
        if y is not None:
            conditional = unconditional + (self.embedding(y) * p).sum(dim=1)
        return conditional, unconditional, self.latent_head(h)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return the conditional logit (B,) for images x and labels y."""
        return self.heads(self.features(x), y)[0]
