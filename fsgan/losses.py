"""Generator and discriminator losses.

G: BCE(D(A(G(y, z)), y), real) + gamma * MSE(q(A(G(y, z))), z)
   + alpha * BCE(D_u(A(G(y, z))), real)
D: 1/2 [BCE(D(A(x), y), real) + BCE(D(A(x_fake), y), fake)] + gamma * MSE(q(A(x_fake)), z)
   + alpha * 1/2 [BCE(D_u(A(x_u)), real) + BCE(D_u(A(x_fake)), fake)]

A is the augmentation, D_u the unconditional logit, q the latent head and x_u the
unlabelled batch. Callers pass augmented images; the losses return the total and
each term for logging.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from fsgan.models import Discriminator


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def generator_loss(discriminator: Discriminator, fake: torch.Tensor, y: torch.Tensor,
                   z: torch.Tensor, gamma: float, alpha: float
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of the generator on augmented fakes `fake` made from labels y and latents z."""
    conditional, unconditional, z_predicted = discriminator.heads(
        discriminator.features(fake), y)
    adversarial = _bce(conditional, real=True)
    latent = F.mse_loss(z_predicted, z)
    unconditional_term = _bce(unconditional, real=True)
    total = adversarial + gamma * latent + alpha * unconditional_term
    return total, {"g_adv": adversarial.item(), "g_latent": latent.item(),
                   "g_uncond": unconditional_term.item()}


def discriminator_loss(discriminator: Discriminator, real: torch.Tensor, y: torch.Tensor,
                       fake: torch.Tensor, z: torch.Tensor, unlabelled: torch.Tensor | None,
                       gamma: float, alpha: float) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of the discriminator on augmented real, fake and unlabelled batches.

    `fake` must be detached from the generator. With `unlabelled` None the
    labelled batch `real` serves as x_u.
    """
    real_conditional, real_unconditional, _ = discriminator.heads(
        discriminator.features(real), y)
    fake_conditional, fake_unconditional, z_predicted = discriminator.heads(
        discriminator.features(fake), y)
    adversarial = 0.5 * (_bce(real_conditional, real=True) + _bce(fake_conditional, real=False))
    latent = F.mse_loss(z_predicted, z)

    if unlabelled is None:
        unlabelled_logits = real_unconditional
    elif alpha > 0:
        unlabelled_logits = discriminator.heads(discriminator.features(unlabelled), None)[1]
    else:
        unlabelled_logits = real_unconditional.detach()  # term has weight 0: skip the pass
    unconditional_term = 0.5 * (_bce(unlabelled_logits, real=True)
                                + _bce(fake_unconditional, real=False))
    total = adversarial + gamma * latent + alpha * unconditional_term
    return total, {"d_adv": adversarial.item(), "d_latent": latent.item(),
                   "d_uncond": unconditional_term.item()}
