"""Networks: the ResNet-18 classifier, the FiLM generator and the projection discriminator."""

from fsgan.models.classifier import ResNet18
from fsgan.models.discriminator import Discriminator
from fsgan.models.generator import Generator

__all__ = ["Discriminator", "Generator", "ResNet18"]
