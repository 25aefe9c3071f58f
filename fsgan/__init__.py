"""fsgan: GAN-based few-shot data augmentation, stage by stage."""

__version__ = "0.1.0"
