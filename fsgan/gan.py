"""The GAN training loop shared by pretraining (stage 2a) and fine-tuning (stage 2b).

One iteration is a generator step followed by a discriminator step on the same
fakes, detached. Every `eval_every` iterations the loop measures FID against a
reference set, and the checkpoint with the lowest FID is the one kept.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from fsgan import metrics
from fsgan.augment import augment
from fsgan.data import to_float, to_uint8
from fsgan.losses import discriminator_loss, generator_loss
from fsgan.models import Discriminator, Generator
from fsgan.runs import Progress, StatsWriter, save_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of G and D; stored in every checkpoint so it can be rebuilt."""

    num_classes: int
    ngf: int
    ndf: int
    z_dim: int
    film_activation: str
    latent_sn_output: bool = True


@dataclass(frozen=True)
class GanTrainSettings:
    iterations: int
    eval_every: int
    gamma: float
    alpha: float
    augment_p: float
    sigma_train: float
    sigma_sample: float
    lr: float
    betas: tuple[float, float]
    weight_decay: float
    batch_size: int


class BatchSampler:
    """Draw random batches (with replacement) from uint8 images kept on the device."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, batch_size: int,
                 device: torch.device, generator: torch.Generator) -> None:
        self.images = torch.as_tensor(images, device=device)
        self.labels = None if labels is None else torch.as_tensor(labels, device=device)
        self.batch_size, self.generator = batch_size, generator

    def sample(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = torch.randint(len(self.images), (self.batch_size,), generator=self.generator,
                              device=self.generator.device).to(self.images.device)
        labels = None if self.labels is None else self.labels[index]
        return to_float(self.images[index]), labels


@torch.no_grad()
def generate(generator: Generator, labels: np.ndarray, sigma: float, seed: int,
             device: torch.device, batch_size: int = 256) -> np.ndarray:
    """Draw one image per entry of `labels` with z ~ N(0, sigma^2 I), as uint8 (N, 3, 32, 32)."""
    was_training = generator.training
    generator.eval()
    rng = torch.Generator().manual_seed(seed)
    images = []
    for start in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[start:start + batch_size], device=device)
        z = sigma * torch.randn(len(y), generator.z_dim, generator=rng).to(device)
        images.append(to_uint8(generator(y, z)))
    generator.train(was_training)
    return np.concatenate(images) if images else np.zeros((0, 3, 32, 32), np.uint8)


class FidEvaluator:
    """FID of generated images against fixed real reference images, on classifier features.

    Generated images use the reference labels, one per real image, and the same
    latent seed at every call so that evaluations are comparable.
    """

    def __init__(self, extractor: metrics.ClassifierExtractor, images: np.ndarray,
                 labels: np.ndarray, sigma: float, seed: int, device: torch.device) -> None:
        self.extractor, self.labels, self.sigma = extractor, labels, sigma
        self.seed, self.device = seed, device
        self.real_features = metrics.extract_features(extractor, images, device=device)

    def __call__(self, generator: Generator) -> float:
        fake = generate(generator, self.labels, self.sigma, self.seed, self.device)
        fake_features = metrics.extract_features(self.extractor, fake, device=self.device)
        return metrics.fid(self.real_features, fake_features)


def _copy_state(generator: Generator, discriminator: Discriminator) -> dict:
    return {"generator": copy.deepcopy(generator.state_dict()),
            "discriminator": copy.deepcopy(discriminator.state_dict())}


def train_gan(generator: Generator, discriminator: Discriminator, *, images: np.ndarray,
              labels: np.ndarray, unlabelled: np.ndarray | None,
              settings: GanTrainSettings, evaluate: FidEvaluator, model_config: ModelConfig,
              out_dir: str | Path, seed: int, device: torch.device,
              keep_initial: bool = False) -> dict:
    """Train G and D, keep the lowest-FID checkpoint as `out_dir/model.pt`.

    With `keep_initial` the starting weights are a candidate too, so fine-tuning
    that only makes FID worse keeps the pretrained generator. Pretraining leaves it
    off: a randomly initialised generator is no result, even where its noise scores
    a lower FID than an early, collapsed one.

    `images`/`labels` are the labelled training set; `unlabelled`, when given, is
    the x_u set of the unconditional term (semi-supervised fine-tuning). Only
    parameters with requires_grad are optimised. Returns a summary of the run.
    """
    out_dir = Path(out_dir)
    rng = torch.Generator(device="cpu").manual_seed(seed)
    labelled_batches = BatchSampler(images, labels, settings.batch_size, device, rng)
    unlabelled_batches = (None if unlabelled is None else
                          BatchSampler(unlabelled, None, settings.batch_size, device, rng))
    optimizer_options = {"lr": settings.lr, "betas": tuple(settings.betas),
                         "weight_decay": settings.weight_decay}
    g_params = [p for p in generator.parameters() if p.requires_grad]
    d_params = [p for p in discriminator.parameters() if p.requires_grad]
    g_optimizer = torch.optim.AdamW(g_params, **optimizer_options) if g_params else None
    d_optimizer = torch.optim.AdamW(d_params, **optimizer_options) if d_params else None
    generator.to(device).train()
    discriminator.to(device).train()

    stats = StatsWriter(out_dir / "stats.jsonl")
    progress = Progress(settings.iterations, "iteration")
    initial_fid = evaluate(generator)
    stats.write(iteration=0, fid=initial_fid)
    log.info("FID before training: %.3f", initial_fid)
    best = {"fid": initial_fid if keep_initial else float("inf"), "iteration": 0}
    best_state = _copy_state(generator, discriminator)
    losses: dict[str, float] = {}

    for iteration in range(1, settings.iterations + 1):
        x, y = labelled_batches.sample()
        x_u = None if unlabelled_batches is None else unlabelled_batches.sample()[0]
        z = settings.sigma_train * torch.randn(len(y), generator.z_dim, generator=rng).to(device)

        # Generator step.
        fake = generator(y, z)
        g_loss, g_terms = generator_loss(discriminator, augment(fake, settings.augment_p), y, z,
                                         settings.gamma, settings.alpha)
        if g_optimizer is not None:
            g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            g_optimizer.step()

        # Discriminator step on the same fakes, detached.
        d_loss, d_terms = discriminator_loss(
            discriminator, augment(x, settings.augment_p), y,
            augment(fake.detach(), settings.augment_p), z,
            None if x_u is None else augment(x_u, settings.augment_p),
            settings.gamma, settings.alpha)
        if d_optimizer is not None:
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimizer.step()

        losses = {**g_terms, **d_terms}
        progress.update(iteration, **losses)
        if iteration % settings.eval_every == 0 or iteration == settings.iterations:
            fid = evaluate(generator)
            stats.write(iteration=iteration, fid=fid, **losses)
            log.info("iteration %d: FID %.3f (best %.3f at %d)", iteration, fid, best["fid"],
                     best["iteration"])
            if fid < best["fid"]:
                best = {"fid": fid, "iteration": iteration}
                best_state = _copy_state(generator, discriminator)

    save_checkpoint(out_dir / "model.pt", {**best_state, "model_config": asdict(model_config),
                                           "iteration": best["iteration"], "fid": best["fid"]})
    log.info("kept the checkpoint of iteration %d with FID %.3f", best["iteration"], best["fid"])
    return {"initial_fid": initial_fid, "best_fid": best["fid"],
            "best_iteration": best["iteration"], "final_losses": losses}
