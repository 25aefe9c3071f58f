"""Fine-tuning modes (the parameters each one trains) and the loader of a pretrained GAN.

| mode   | generator                              | discriminator                               |
|--------|----------------------------------------|---------------------------------------------|
| embed  | the class-embedding tables             | the projection embedding                    |
| linear | embeddings and the [z; e] -> FiLM maps | psi, phi, projection embedding, latent head |
| all    | everything                             | everything                                  |
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from fsgan.models import Discriminator, Generator

log = logging.getLogger(__name__)

MODES = ("embed", "linear", "all")

_GENERATOR_RULES: dict[str, Callable[[str], bool]] = {
    "embed": lambda name: ".film.embedding." in name,
    "linear": lambda name: ".film.embedding." in name or ".film.linear." in name,
    "all": lambda name: True,
}
_DISCRIMINATOR_RULES: dict[str, Callable[[str], bool]] = {
    "embed": lambda name: name.startswith("embedding."),
    "linear": lambda name: name.startswith(("embedding.", "psi.", "phi.", "latent_head.")),
    "all": lambda name: True,
}


def _check_mode(mode: str, key: str) -> None:
    if mode not in MODES:
        raise ValueError(f"fine-tuning mode {mode!r} ({key}) is invalid; use one of {MODES}")


def set_trainable(model: nn.Module, rule: Callable[[str], bool]) -> list[str]:
    """Set requires_grad by `rule` on each parameter name; return the trainable names."""
    names = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(rule(name))
        if parameter.requires_grad:
            names.append(name)
    return names


def build_models(model_config: dict) -> tuple[Generator, Discriminator]:
    """Build G and D from the `model_config` stored in every GAN checkpoint."""
    generator = Generator(model_config["num_classes"], model_config["ngf"],
                          model_config["z_dim"], model_config["film_activation"])
    discriminator = Discriminator(model_config["num_classes"], model_config["ndf"],
                                  model_config["z_dim"],
                                  model_config.get("latent_sn_output", True))
    return generator, discriminator


def load_for_finetuning(checkpoint_path: str | Path, generator_mode: str,
                        discriminator_mode: str, device: torch.device
                        ) -> tuple[Generator, Discriminator, dict[str, list[str]]]:
    """Load a pretrained GAN strictly and freeze all parameters the modes do not train.

    The label tables already have rows for every class, novel ones included, so the
    load is strict: nothing is added or dropped. Returns G, D and the names of the
    parameters each will train.
    """
    _check_mode(generator_mode, "generator mode")
    _check_mode(discriminator_mode, "discriminator mode")
    checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=True)
    generator, discriminator = build_models(checkpoint["model_config"])
    generator.load_state_dict(checkpoint["generator"], strict=True)
    discriminator.load_state_dict(checkpoint["discriminator"], strict=True)
    trainable = {
        "generator": set_trainable(generator, _GENERATOR_RULES[generator_mode]),
        "discriminator": set_trainable(discriminator, _DISCRIMINATOR_RULES[discriminator_mode]),
    }
    for part, model in (("generator", generator), ("discriminator", discriminator)):
        count = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        log.info("fine-tuning %s: %d of %d parameters trainable in %d tensors (%s mode)",
                 part, count, total, len(trainable[part]),
                 generator_mode if part == "generator" else discriminator_mode)
    return generator.to(device), discriminator.to(device), trainable
