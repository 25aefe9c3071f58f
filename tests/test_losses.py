import pytest
import torch

from fsgan.losses import discriminator_loss, generator_loss
from fsgan.models import Discriminator


@pytest.fixture
def batch():
    torch.manual_seed(0)
    # eval mode: spectral norm skips its power iteration, so repeated calls match exactly.
    discriminator = Discriminator(num_classes=5, ndf=8, z_dim=8).eval()
    return {
        "discriminator": discriminator,
        "real": torch.rand(6, 3, 32, 32) * 2 - 1,
        "fake": torch.rand(6, 3, 32, 32) * 2 - 1,
        "unlabelled": torch.rand(6, 3, 32, 32) * 2 - 1,
        "y": torch.tensor([0, 1, 2, 3, 4, 0]),
        "z": torch.randn(6, 8),
    }


def g_total(batch, gamma, alpha):
    return generator_loss(batch["discriminator"], batch["fake"], batch["y"], batch["z"],
                          gamma, alpha)


def d_total(batch, gamma, alpha, unlabelled=True):
    return discriminator_loss(batch["discriminator"], batch["real"], batch["y"], batch["fake"],
                              batch["z"], batch["unlabelled"] if unlabelled else None,
                              gamma, alpha)


def test_generator_alpha_zero_removes_unconditional(batch):
    total, terms = g_total(batch, gamma=0.0, alpha=0.0)
    assert total.item() == pytest.approx(terms["g_adv"], rel=1e-6)


def test_generator_alpha_scales_unconditional(batch):
    base, terms = g_total(batch, gamma=0.0, alpha=0.0)
    scaled, _ = g_total(batch, gamma=0.0, alpha=3.0)
    assert (scaled - base).item() == pytest.approx(3.0 * terms["g_uncond"], rel=1e-5)


def test_generator_gamma_scales_latent(batch):
    base, terms = g_total(batch, gamma=0.0, alpha=0.0)
    scaled, _ = g_total(batch, gamma=2.5, alpha=0.0)
    assert (scaled - base).item() == pytest.approx(2.5 * terms["g_latent"], rel=1e-5)


def test_generator_latent_term_is_mse(batch):
    discriminator = batch["discriminator"]
    predicted = discriminator.latent_head(discriminator.features(batch["fake"]))
    _, terms = g_total(batch, gamma=1.0, alpha=0.0)
    expected = ((predicted - batch["z"]) ** 2).mean().item()
    assert terms["g_latent"] == pytest.approx(expected, rel=1e-5)


def test_discriminator_alpha_zero_ignores_unlabelled(batch):
    with_batch, _ = d_total(batch, gamma=1.0, alpha=0.0)
    batch["unlabelled"] = torch.zeros_like(batch["unlabelled"])
    changed, _ = d_total(batch, gamma=1.0, alpha=0.0)
    assert with_batch.item() == changed.item()


def test_discriminator_unlabelled_batch_used(batch):
    with_batch, _ = d_total(batch, gamma=0.0, alpha=1.0)
    batch["unlabelled"] = -torch.ones_like(batch["unlabelled"])
    changed, _ = d_total(batch, gamma=0.0, alpha=1.0)
    assert with_batch.item() != pytest.approx(changed.item(), rel=1e-6)


def test_discriminator_gamma_scales_latent(batch):
    base, terms = d_total(batch, gamma=0.0, alpha=1.0)
    scaled, _ = d_total(batch, gamma=4.0, alpha=1.0)
    assert (scaled - base).item() == pytest.approx(4.0 * terms["d_latent"], rel=1e-5)


def test_discriminator_adversarial_halves(batch):
    total, terms = d_total(batch, gamma=0.0, alpha=0.0)
    discriminator = batch["discriminator"]
    real = discriminator(batch["real"], batch["y"])
    fake = discriminator(batch["fake"], batch["y"])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = 0.5 * (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert terms["d_adv"] == pytest.approx(expected.item(), rel=1e-6)


def test_discriminator_labelled_batch_as_unlabelled(batch):
    # Without an unlabelled batch, x_u is the labelled batch itself.
    _, terms = d_total(batch, gamma=0.0, alpha=1.0, unlabelled=False)
    discriminator = batch["discriminator"]
    real = discriminator.heads(discriminator.features(batch["real"]), None)[1]
    fake = discriminator.heads(discriminator.features(batch["fake"]), None)[1]
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = 0.5 * (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))
    assert terms["d_uncond"] == pytest.approx(expected.item(), rel=1e-6)
