"""One function per workflow step; the Snakemake scripts call these and nothing else.

Each function reads its inputs from files, writes its outputs atomically and takes
settings as plain mappings (from the validated config), which it turns into the
typed settings of the module doing the work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fsgan import metrics
from fsgan.augmented import AugmentedSettings, train_augmented_classifier
from fsgan.classifier import ClassifierSettings, load_classifier, train_classifier
from fsgan.data import load_dataset, load_npz, save_npz
from fsgan.data.base import read_dataset, save_dataset
from fsgan.data.inputs import novel_class_labels
from fsgan.figures import image_grid, save_png
from fsgan.finetune import build_models, load_for_finetuning
from fsgan.gan import FidEvaluator, GanTrainSettings, ModelConfig, generate, train_gan
from fsgan.runs import seed_everything, select_device, write_json, write_run_record
from fsgan.splitfiles import import_split_files, imported_class_split, imported_novel_split
from fsgan.splits import split_classes, split_named_classes, split_novel

log = logging.getLogger(__name__)

Settings = Mapping[str, Any]


def prepare_dataset(name: str, root: str, output: str, split_files: str | None = None) -> None:
    """Read dataset `name` from the data folder and store it as one npz file.

    With `split_files` (a folder of split files) the dataset and its splits are
    read from those files instead.
    """
    if split_files:
        import_split_files(split_files, name, output)
        return
    dataset = load_dataset(name, root)
    log.info("%s: %d images, %d classes", name, len(dataset.images), dataset.num_classes)
    save_dataset(dataset, output)


def write_class_split(dataset_path: str, n_novel: int | None, seed: int, output: str,
                      novel_classes: list[str] | None = None, imported: bool = False) -> None:
    """Write the seen/novel classes of split `seed` and the seen-class image indices.

    The novel classes come from the imported split files when `imported`, else
    from the list of names `novel_classes` (the same for every seed), else from
    the seeded protocol with `n_novel` classes.
    """
    dataset = read_dataset(dataset_path)
    if imported:
        split = imported_class_split(dataset_path, seed)
    elif novel_classes:
        novel = novel_class_labels(novel_classes, dataset.class_names, dataset.name)
        split = split_named_classes(dataset.labels, dataset.num_classes, novel)
    else:
        split = split_classes(dataset.labels, dataset.num_classes, n_novel, seed)
    log.info("seed %d: %d seen and %d novel classes; novel: %s", seed, len(split.seen),
             len(split.novel), ", ".join(dataset.class_names[c] for c in split.novel))
    save_npz(output, seen=split.seen, novel=split.novel, train=split.train)


def write_novel_split(dataset_path: str, classes_path: str, k: int, supports_in_valid: bool,
                      output: str, seed: int | None = None, imported: bool = False) -> None:
    """Write the supports, valid and test indices of the novel classes for `k` shots.

    When `imported`, the indices of `seed` and `k` come from the imported split files.
    """
    if imported:
        split = imported_novel_split(dataset_path, seed, k)
    else:
        dataset = read_dataset(dataset_path)
        novel = load_npz(classes_path)["novel"]
        split = split_novel(dataset.labels, novel, k, supports_in_valid)
    log.info("k=%d: %d supports, %d valid, %d test images", k, len(split.supports),
             len(split.valid), len(split.test))
    save_npz(output, supports=split.supports, valid=split.valid, test=split.test)


def run_classifier(dataset_path: str, classes_path: str, settings: Settings, seed: int,
                   out_dir: str) -> None:
    """Stage 1: train the classifier on the seen classes of split `seed`."""
    seed_everything(seed)
    write_run_record(out_dir, settings, seed)
    dataset = read_dataset(dataset_path)
    train = load_npz(classes_path)["train"]
    summary = train_classifier(dataset.images[train], dataset.labels[train],
                               dataset.num_classes, ClassifierSettings(**settings), seed,
                               select_device(), out_dir)
    write_json(Path(out_dir) / "summary.json", summary)


def _gan_train_settings(gan: Settings, stage: Settings, alpha: float) -> GanTrainSettings:
    return GanTrainSettings(
        iterations=stage["iterations"], eval_every=stage["eval_every"], gamma=gan["gamma"],
        alpha=alpha, augment_p=gan["augment_p"], sigma_train=gan["sigma_train"],
        sigma_sample=gan["sigma_sample"], lr=gan["lr"], betas=tuple(gan["betas"]),
        weight_decay=gan["weight_decay"], batch_size=gan["batch_size"])


def _subsample(indices: np.ndarray, count: int, seed: int) -> np.ndarray:
    if len(indices) <= count:
        return indices
    return np.sort(np.random.RandomState(seed).choice(indices, count, replace=False))


def run_pretrain(dataset_path: str, classes_path: str, classifier_path: str, gan: Settings,
                 pretrain: Settings, seed: int, out_dir: str) -> None:
    """Stage 2a: train G and D on all seen-class images, select by seen-class FID."""
    seed_everything(seed)
    write_run_record(out_dir, {"gan": gan, "pretrain": pretrain}, seed)
    device = select_device()
    dataset = read_dataset(dataset_path)
    train = load_npz(classes_path)["train"]
    model_config = ModelConfig(dataset.num_classes, gan["ngf"], gan["ndf"], gan["z_dim"],
                               gan["film_activation"], gan["latent_sn_output"])
    generator, discriminator = build_models(asdict(model_config))
    if gan["init_output_bias"]:
        mean_pixel = float(dataset.images[train].mean()) / 127.5 - 1
        generator.init_output_bias(mean_pixel)
        log.info("generator output starts at the mean pixel value %.3f", mean_pixel)

    reference = _subsample(train, pretrain["fid_samples"], seed)
    extractor = metrics.ClassifierExtractor(load_classifier(classifier_path, device))
    evaluate = FidEvaluator(extractor, dataset.images[reference], dataset.labels[reference],
                            gan["sigma_sample"], seed, device)
    summary = train_gan(generator, discriminator, images=dataset.images[train],
                        labels=dataset.labels[train], unlabelled=None,
                        settings=_gan_train_settings(gan, pretrain, pretrain["alpha"]),
                        evaluate=evaluate, model_config=model_config, out_dir=out_dir,
                        seed=seed, device=device)
    write_json(Path(out_dir) / "summary.json", {**summary, "fid_reference": "seen",
                                                "fid_reference_size": len(reference)})


def run_finetune(dataset_path: str, split_path: str, pretrained_path: str, classifier_path: str,
                 gan: Settings, finetune: Settings, variant: Settings, seed: int,
                 out_dir: str) -> None:
    """Stage 2b: fine-tune the pretrained GAN on the supports, select by valid FID.

    A semi-supervised `variant` (unlabelled: true) draws the unconditional term's
    real batch from the novel valid split with labels removed.
    """
    seed_everything(seed)
    write_run_record(out_dir, {"gan": gan, "finetune": finetune, "variant": variant}, seed)
    device = select_device()
    dataset = read_dataset(dataset_path)
    split = load_npz(split_path)
    generator, discriminator, trainable = load_for_finetuning(
        pretrained_path, variant["generator_mode"], variant["discriminator_mode"], device)
    model_config = ModelConfig(**torch.load(pretrained_path, map_location="cpu",
                                            weights_only=True)["model_config"])

    extractor = metrics.ClassifierExtractor(load_classifier(classifier_path, device))
    valid = split["valid"]
    evaluate = FidEvaluator(extractor, dataset.images[valid], dataset.labels[valid],
                            gan["sigma_sample"], seed, device)
    supports = split["supports"]
    unlabelled = dataset.images[valid] if variant["unlabelled"] else None
    summary = train_gan(generator, discriminator, images=dataset.images[supports],
                        labels=dataset.labels[supports], unlabelled=unlabelled,
                        settings=_gan_train_settings(gan, finetune, variant["alpha"]),
                        evaluate=evaluate, model_config=model_config, out_dir=out_dir,
                        seed=seed, device=device, keep_initial=True)
    write_json(Path(out_dir) / "summary.json", {
        **summary, "fid_reference": "novel valid", "fid_reference_size": len(valid),
        "generator_mode": variant["generator_mode"],
        "discriminator_mode": variant["discriminator_mode"], "trainable": trainable})


def _load_generator(path: str, device: torch.device):
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    generator, _ = build_models(checkpoint["model_config"])
    generator.load_state_dict(checkpoint["generator"], strict=True)
    return generator.to(device).eval()


def draw_samples(dataset_path: str, classes_path: str, split_path: str, generator_path: str,
                 per_class: int, sigma: float, seed: int, output: str, grid_path: str,
                 grid_classes: int = 10, grid_columns: int = 10) -> None:
    """Draw `per_class` images for each novel class; save them and a grid beside the supports.

    Each grid row is one novel class: its supports on the left, then generated images.
    """
    device = select_device()
    dataset = read_dataset(dataset_path)
    novel = load_npz(classes_path)["novel"]
    supports = load_npz(split_path)["supports"]
    labels = np.repeat(novel, per_class)
    images = generate(_load_generator(generator_path, device), labels, sigma, seed, device)
    save_npz(output, images=images, labels=labels)

    rows = []
    for c in novel[:grid_classes]:
        real = dataset.images[supports[dataset.labels[supports] == c]]
        real = np.repeat(real, 3 // real.shape[1], axis=1)
        fake = images[labels == c][:grid_columns]
        blank = np.full((1, 3, *real.shape[2:]), 255, np.uint8)
        rows.append(np.concatenate([real, blank, fake]))
    save_png(image_grid(np.concatenate(rows), len(rows), len(rows[0])), grid_path, scale=2)


def evaluate_gan(dataset_path: str, split_path: str, generator_path: str, classifier_path: str,
                 sigma: float, settings: Settings, seed: int, output: str) -> None:
    """Compare one generated image per real novel valid image, label for label.

    `settings` is the `metrics` config section: the extractor, the Inception
    weights file, nearest_k and the KID subsets.
    """
    device = select_device()
    dataset = read_dataset(dataset_path)
    valid = load_npz(split_path)["valid"]
    real_labels = dataset.labels[valid]
    fake = generate(_load_generator(generator_path, device), real_labels, sigma, seed, device)
    if settings["extractor"] == "inception":
        extractor = metrics.InceptionExtractor(settings["inception_weights"])
    else:
        extractor = metrics.ClassifierExtractor(load_classifier(classifier_path, device))
    real_features = metrics.extract_features(extractor, dataset.images[valid], device=device)
    fake_features = metrics.extract_features(extractor, fake, device=device)
    result = metrics.compute_gan_metrics(
        real_features, real_labels, fake_features, real_labels, extractor=extractor.name,
        split="valid", nearest_k=settings["nearest_k"],
        kid_subset_size=settings["kid_subset_size"], kid_subsets=settings["kid_subsets"],
        seed=seed, device=device)
    result["settings"]["generator"] = generator_path
    result["settings"]["sigma_sample"] = sigma
    write_json(output, result)


def run_augmented(dataset_path: str, split_path: str, classifier_path: str,
                  samples_path: str | None, settings: Settings, seed: int, out_dir: str) -> None:
    """Stage 3: train on the supports plus the synthetic samples (none for the baseline)."""
    seed_everything(seed)
    write_run_record(out_dir, settings, seed)
    dataset = read_dataset(dataset_path)
    split = load_npz(split_path)
    images = dataset.images[split["supports"]]
    images = np.repeat(images, 3 // images.shape[1], axis=1)
    labels = dataset.labels[split["supports"]]
    n_synthetic = 0
    if samples_path is not None:
        samples = load_npz(samples_path)
        n_synthetic = len(samples["labels"])
        images = np.concatenate([images, samples["images"]])
        labels = np.concatenate([labels, samples["labels"]])
    result = train_augmented_classifier(
        classifier_path, train_images=images, train_labels=labels,
        valid_images=dataset.images[split["valid"]], valid_labels=dataset.labels[split["valid"]],
        test_images=dataset.images[split["test"]], test_labels=dataset.labels[split["test"]],
        settings=AugmentedSettings(**settings), seed=seed, device=select_device(),
        out_dir=out_dir)
    write_json(Path(out_dir) / "metrics.json", {**result, "n_synthetic": n_synthetic,
                                                "n_supports": len(split["supports"])})
