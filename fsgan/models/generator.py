"""Class-conditional residual generator with FiLM conditioning.

A learned constant (ngf, 2, 2) is the input. Four stages double the resolution
2 -> 4 -> 8 -> 16 -> 32 and halve the width each time; each stage is an upsampling
residual block followed by a same-resolution residual block. Every block has its
own class-embedding table and its own linear map from [z; embedding] to a FiLM
scale and shift.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

FILM_ACTIVATIONS = ("relu", "none")


class FiLM(nn.Module):
    """Per-channel scale * x + shift, computed from [z; class embedding].

    With activation "relu" (the study's choice) scale and shift are never negative.
    """

    def __init__(self, num_classes: int, z_dim: int, channels: int, activation: str) -> None:
        super().__init__()
        if activation not in FILM_ACTIVATIONS:
            raise ValueError(f"FiLM activation must be one of {FILM_ACTIVATIONS}, "
                             f"got {activation!r}")
        self.embedding = nn.Embedding(num_classes, z_dim)
        self.linear = nn.Linear(2 * z_dim, 2 * channels)
        self.activation = activation
        # Scales start around 1 rather than 0, so the modulation starts near identity.
        # Centred on 0, half of them would start at 0 behind the ReLU, where they get no
        # gradient and cut z and y off from the image for good.
        with torch.no_grad():
            self.linear.bias[:channels] = 1.0

    def forward(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        params = self.linear(torch.cat([z, self.embedding(y)], dim=1))
        if self.activation == "relu":
            params = F.relu(params)
        scale, shift = params[:, :, None, None].chunk(2, dim=1)
        return scale * x + shift


class UpBlock(nn.Module):
    """Conv, IN, ReLU, stride-2 transposed conv, IN, FiLM; shortcut 1x1 conv then x2 nearest."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int, z_dim: int,
                 film_activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm1 = nn.InstanceNorm2d(out_channels, affine=True)
        self.deconv = nn.ConvTranspose2d(out_channels, out_channels, 3, 2, 1, output_padding=1)
        self.norm2 = nn.InstanceNorm2d(out_channels, affine=True)
        self.film = FiLM(num_classes, z_dim, out_channels, film_activation)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv(x)))
        h = self.film(self.norm2(self.deconv(h)), z, y)
        return F.relu(h + F.interpolate(self.shortcut(x), scale_factor=2, mode="nearest"))


class SameBlock(nn.Module):
    """Conv, IN, ReLU, conv, IN, FiLM, with an identity shortcut."""

    def __init__(self, channels: int, num_classes: int, z_dim: int, film_activation: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.norm2 = nn.InstanceNorm2d(channels, affine=True)
        self.film = FiLM(num_classes, z_dim, channels, film_activation)

    def forward(self, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x)))
        h = self.film(self.norm2(self.conv2(h)), z, y)
        return F.relu(h + x)


class Generator(nn.Module):
    """Map labels y (B,) and latents z (B, z_dim) to images (B, 3, 32, 32) in [-1, 1]."""

    def __init__(self, num_classes: int, ngf: int = 1024, z_dim: int = 64,
                 film_activation: str = "relu") -> None:
        super().__init__()
        if ngf % 16 != 0:
            raise ValueError(f"ngf must be a multiple of 16 (four halvings), got {ngf}")
        self.num_classes, self.z_dim = num_classes, z_dim
        self.const = nn.Parameter(torch.randn(1, ngf, 2, 2))
        blocks, channels = [], ngf
        for _ in range(4):
            blocks.append(UpBlock(channels, channels // 2, num_classes, z_dim, film_activation))
            blocks.append(SameBlock(channels // 2, num_classes, z_dim, film_activation))
            channels //= 2
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(channels, 3, 3, 1, 1)

    @torch.no_grad()
    def init_output_bias(self, mean_pixel: float) -> None:
        """Start the output at the data's mean pixel value (in [-1, 1]) instead of 0.

        Datasets with a uniform background, such as Omniglot's white page, otherwise
        make brightness the first thing D learns, and G reacts by saturating tanh
        over the whole image, where its gradients vanish.
        """
        target = min(max(mean_pixel, -0.95), 0.95)
        self.out.bias.fill_(float(torch.atanh(torch.tensor(target))))

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        x = self.const.expand(len(y), -1, -1, -1)
        for block in self.blocks:
            x = block(x, z, y)
        return torch.tanh(self.out(x))
