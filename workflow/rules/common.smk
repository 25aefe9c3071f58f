# Wildcards, input functions and the list of final outputs.

import os

from fsgan.data.inputs import dataset_input_files, n_novel
from fsgan.data.registry import missing_downloads
from fsgan.splitfiles import SPLITS, split_file_name


wildcard_constraints:
    seed=r"\d+",
    k=r"\d+",
    variant=r"[a-z][a-z0-9_]*",


CONDA_ENV = "../../envs/fsgan.yaml"
VARIANTS = list(config["finetune"]["variants"])
BASELINE = "baseline"

DATA_ROOT = config["data"]["root"]
IMPORTED = bool(config["data"]["split_files"])
DATASET_FILES = dataset_input_files(config["data"])
DOWNLOADS = (
    missing_downloads(config["data"]["dataset"], DATA_ROOT)
    if config["data"]["download"] and not IMPORTED
    else ()
)


def get_n_novel():
    """Number of novel classes; None when the imported split files decide."""
    return None if IMPORTED else n_novel(config["data"])


def get_variant_settings(wildcards):
    return config["finetune"]["variants"][wildcards.variant]


def get_samples(wildcards):
    """Synthetic samples for stage 3; the baseline trains on the supports alone."""
    if wildcards.variant == BASELINE:
        return {}
    return {"samples": rules.draw_samples.output.samples}


def get_final_outputs():
    """Tables, figures and every trained model.

    Models are listed too, so that a deleted checkpoint is rebuilt together with
    everything downstream of it rather than silently skipped.
    """
    seeds, ks = config["seeds"], config["ks"]
    return [
        *rules.aggregate.output,
        *expand(rules.plot_samples.output[0], seed=seeds, k=ks),
        *expand(rules.train_classifier.output.model, seed=seeds),
        *expand(rules.pretrain_gan.output.model, seed=seeds),
        *expand(rules.finetune_gan.output.model, seed=seeds, k=ks, variant=VARIANTS),
    ]
