import pytest
import torch

from fsgan.models import Discriminator, Generator, ResNet18


def test_generator_output_shape_and_range():
    generator = Generator(num_classes=7, ngf=64, z_dim=16)
    y = torch.tensor([0, 3, 6, 6])
    images = generator(y, 5 * torch.randn(4, 16))
    assert images.shape == (4, 3, 32, 32)
    assert images.min() >= -1
    assert images.max() <= 1


def test_generator_depends_on_label():
    generator = Generator(num_classes=5, ngf=32, z_dim=8).eval()
    z = torch.randn(1, 8)
    first = generator(torch.tensor([0]), z)
    second = generator(torch.tensor([1]), z)
    assert not torch.allclose(first, second)


def test_generator_widths_halve():
    generator = Generator(num_classes=3, ngf=64, z_dim=8)
    up_blocks = generator.blocks[::2]
    assert [block.conv.out_channels for block in up_blocks] == [32, 16, 8, 4]


def test_generator_film_relu_nonnegative():
    generator = Generator(num_classes=3, ngf=32, z_dim=8, film_activation="relu")
    film = generator.blocks[0].film
    params = torch.relu(film.linear(torch.randn(4, 16)))
    assert (params >= 0).all()
    with pytest.raises(ValueError, match="FiLM activation"):
        Generator(num_classes=3, ngf=32, z_dim=8, film_activation="tanh")


def test_generator_label_table_covers_all_classes():
    generator = Generator(num_classes=11, ngf=32, z_dim=8)
    for block in generator.blocks:
        assert block.film.embedding.num_embeddings == 11


def test_discriminator_output_shapes():
    discriminator = Discriminator(num_classes=7, ndf=8, z_dim=16)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    y = torch.tensor([0, 1, 2, 3, 6])
    h = discriminator.features(x)
    conditional, unconditional, z_predicted = discriminator.heads(h, y)
    assert h.shape == (5, 64)
    assert conditional.shape == (5,)
    assert unconditional.shape == (5,)
    assert z_predicted.shape == (5, 16)
    assert discriminator(x, y).shape == (5,)


def test_discriminator_projection_term():
    discriminator = Discriminator(num_classes=4, ndf=8, z_dim=8).eval()
    h = torch.randn(3, 64)
    y = torch.tensor([0, 1, 2])
    conditional, unconditional, _ = discriminator.heads(h, y)
    psi = torch.relu(discriminator.psi(h))
    expected = unconditional + (discriminator.embedding(y) * psi).sum(1)
    assert torch.allclose(conditional, expected, atol=1e-6)
    without_labels, _, _ = discriminator.heads(h, None)
    assert torch.allclose(without_labels, unconditional)


def test_classifier_shapes():
    model = ResNet18(num_classes=9, width=8)
    x = torch.randn(2, 3, 32, 32)
    assert model.features(x).shape == (2, 64)
    assert model(x).shape == (2, 9)


def test_generator_output_bias_sets_mean():
    generator = Generator(num_classes=3, ngf=32, z_dim=8)
    generator.init_output_bias(0.8)
    with torch.no_grad():
        generator.out.weight.zero_()
    images = generator(torch.tensor([0, 1]), torch.randn(2, 8))
    assert torch.allclose(images, torch.full_like(images, 0.8), atol=1e-6)
