"""Stage 1: the ResNet-18 classifier trained on the seen classes.

The seen-class images are split 90/10 into train and held-out parts with the
fixed seed 0, whatever the class-split seed, and the epoch with the best
held-out accuracy is kept. The head covers all classes from the start.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from fsgan.data import to_float
from fsgan.models import ResNet18
from fsgan.runs import Progress, StatsWriter, save_checkpoint

log = logging.getLogger(__name__)

HOLDOUT_SEED = 0


@dataclass(frozen=True)
class ClassifierSettings:
    width: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    holdout_fraction: float
    random_shift: int


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to `max_shift` pixels, filling with edge pixels."""
    if max_shift <= 0:
        return x
    padded = F.pad(x, [max_shift] * 4, mode="replicate")
    size = x.shape[-1]
    shifts = torch.randint(0, 2 * max_shift + 1, (len(x), 2), generator=generator)
    return torch.stack([padded[i, :, dy:dy + size, dx:dx + size]
                        for i, (dy, dx) in enumerate(shifts.tolist())])


@torch.no_grad()
def predict_logits(model: ResNet18, images: np.ndarray, device: torch.device,
                   batch_size: int = 512) -> torch.Tensor:
    """Return logits (N, C) for uint8 images, in eval mode."""
    was_training = model.training
    model.eval()
    logits = [model(to_float(images[start:start + batch_size]).to(device)).cpu()
              for start in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(logits) if logits else torch.zeros(0, model.head.out_features)


def accuracy(logits: torch.Tensor, labels: np.ndarray) -> float:
    """Top-1 accuracy over all logits."""
    return float((logits.argmax(1).numpy() == labels).mean()) if len(labels) else float("nan")


def load_classifier(path: str | Path, device: torch.device) -> ResNet18:
    """Load a stage-1 checkpoint strictly, in eval mode."""
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model = ResNet18(checkpoint["num_classes"], checkpoint["width"])
    model.load_state_dict(checkpoint["model"], strict=True)
    return model.to(device).eval()


def train_classifier(images: np.ndarray, labels: np.ndarray, num_classes: int,
                     settings: ClassifierSettings, seed: int, device: torch.device,
                     out_dir: str | Path) -> dict:
    """Train on seen-class `images`/`labels`, keep the best held-out epoch as model.pt."""
    out_dir = Path(out_dir)
    order = np.random.RandomState(HOLDOUT_SEED).permutation(len(images))
    n_holdout = max(1, int(round(settings.holdout_fraction * len(images))))
    holdout, train = np.sort(order[:n_holdout]), np.sort(order[n_holdout:])
    log.info("classifier: %d train and %d held-out images over %d seen classes", len(train),
             len(holdout), len(np.unique(labels)))

    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    model = ResNet18(num_classes, settings.width).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    steps_per_epoch = int(np.ceil(len(train) / settings.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                           settings.epochs * steps_per_epoch)
    train_images = torch.as_tensor(images[train])
    train_labels = torch.as_tensor(labels[train])
    stats = StatsWriter(out_dir / "stats.jsonl")
    progress = Progress(settings.epochs, "epoch", interval=0)
    best = {"accuracy": -1.0, "epoch": 0}
    best_state = None

    for epoch in range(1, settings.epochs + 1):
        model.train()
        permutation = torch.randperm(len(train), generator=rng)
        total_loss = 0.0
        for start in range(0, len(train), settings.batch_size):
            index = permutation[start:start + settings.batch_size]
            x = random_shift(to_float(train_images[index]), settings.random_shift, rng)
            loss = F.cross_entropy(model(x.to(device)), train_labels[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(index)

        holdout_accuracy = accuracy(predict_logits(model, images[holdout], device),
                                    labels[holdout])
        train_loss = total_loss / len(train)
        stats.write(epoch=epoch, train_loss=train_loss, holdout_accuracy=holdout_accuracy)
        progress.update(epoch, loss=train_loss, holdout_accuracy=holdout_accuracy)
        if holdout_accuracy > best["accuracy"]:
            best = {"accuracy": holdout_accuracy, "epoch": epoch}
            best_state = copy.deepcopy(model.state_dict())

    save_checkpoint(out_dir / "model.pt", {"model": best_state, "num_classes": num_classes,
                                           "width": settings.width, "epoch": best["epoch"]})
    log.info("kept epoch %d with held-out accuracy %.4f", best["epoch"], best["accuracy"])
    return {"holdout_accuracy": best["accuracy"], "best_epoch": best["epoch"],
            "n_train": len(train), "n_holdout": len(holdout)}
