"""Stage 3: the classifier retrained on the supports, with or without synthetic images.

Training starts from the stage-1 weights. With `freeze="head"` (the default) the
trunk is frozen with batch norm in eval mode, so the trunk features of every
image are fixed. They are computed once and only the linear head trains on them,
which gives the same result as a full forward pass at a fraction of the cost.
`freeze="last_block"` also trains the last residual stage, and `freeze="none"`
trains everything. Valid accuracy is measured every `eval_every` steps, and the
test accuracy reported is the one at the step with the best valid accuracy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from fsgan.classifier import accuracy, load_classifier, predict_logits
from fsgan.data import to_float
from fsgan.runs import StatsWriter

log = logging.getLogger(__name__)

FREEZE_CHOICES = ("head", "last_block", "none")


@dataclass(frozen=True)
class AugmentedSettings:
    freeze: str
    steps: int
    eval_every: int
    lr: float
    weight_decay: float
    batch_size: int


def _trainable_modules(model: torch.nn.Module, freeze: str) -> list[torch.nn.Module]:
    if freeze == "head":
        return [model.head]
    if freeze == "last_block":
        return [model.layer4, model.head]
    if freeze == "none":
        return [model]
    raise ValueError(f"augmented.freeze must be one of {FREEZE_CHOICES}, got {freeze!r}")


@torch.no_grad()
def _features(model: torch.nn.Module, images: np.ndarray, device: torch.device) -> torch.Tensor:
    model.eval()
    return torch.cat([model.features(to_float(images[i:i + 512]).to(device))
                      for i in range(0, len(images), 512)])


def train_augmented_classifier(classifier_path: str | Path, *, train_images: np.ndarray,
                               train_labels: np.ndarray, valid_images: np.ndarray,
                               valid_labels: np.ndarray, test_images: np.ndarray,
                               test_labels: np.ndarray, settings: AugmentedSettings, seed: int,
                               device: torch.device, out_dir: str | Path) -> dict:
    """Train from the stage-1 checkpoint on `train_*`, select by valid accuracy.

    Accuracy is top-1 over all class logits. Returns the valid and test accuracy
    at the selected step and the accuracy before any training.
    """
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    model = load_classifier(classifier_path, device)
    trainable = _trainable_modules(model, settings.freeze)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for module in trainable:
        for parameter in module.parameters():
            parameter.requires_grad_(True)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=settings.weight_decay)

    head_only = settings.freeze == "head"
    if head_only:
        train_x = _features(model, train_images, device)
        valid_x = _features(model, valid_images, device)
        test_x = _features(model, test_images, device)

    def evaluate() -> tuple[float, float]:
        if head_only:
            with torch.no_grad():
                return (accuracy(model.head(valid_x).cpu(), valid_labels),
                        accuracy(model.head(test_x).cpu(), test_labels))
        return (accuracy(predict_logits(model, valid_images, device), valid_labels),
                accuracy(predict_logits(model, test_images, device), test_labels))

    stats = StatsWriter(Path(out_dir) / "stats.jsonl")
    valid_accuracy, test_accuracy = evaluate()
    stats.write(step=0, valid_accuracy=valid_accuracy, test_accuracy=test_accuracy)
    initial = {"valid_accuracy": valid_accuracy, "test_accuracy": test_accuracy}
    best = {"valid_accuracy": -1.0, "test_accuracy": float("nan"), "step": 0}
    labels = torch.as_tensor(train_labels, device=device)

    for step in range(1, settings.steps + 1):
        index = torch.randint(len(train_labels), (settings.batch_size,), generator=rng)
        if head_only:
            logits = model.head(train_x[index.to(device)])
        else:
            # Frozen stages keep batch norm in eval mode; trained ones use batch statistics.
            model.eval()
            for module in trainable:
                module.train()
            logits = model(to_float(train_images[index.numpy()]).to(device))
        loss = F.cross_entropy(logits, labels[index.to(device)])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        if step % settings.eval_every == 0 or step == settings.steps:
            valid_accuracy, test_accuracy = evaluate()
            stats.write(step=step, loss=loss.item(), valid_accuracy=valid_accuracy,
                        test_accuracy=test_accuracy)
            if valid_accuracy > best["valid_accuracy"]:
                best = {"valid_accuracy": valid_accuracy, "test_accuracy": test_accuracy,
                        "step": step}
    log.info("best valid accuracy %.4f at step %d, test accuracy there %.4f",
             best["valid_accuracy"], best["step"], best["test_accuracy"])
    return {**best, "initial": initial, "n_train": len(train_labels)}
