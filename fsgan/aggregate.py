"""Aggregate over split seeds: tables with mean and standard deviation, and figures."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fsgan.data import load_npz
from fsgan.data.base import read_dataset
from fsgan.figures import image_grid, save_figure

log = logging.getLogger(__name__)

BASELINE = "baseline"
# Result paths end in .../seed<seed>/k<k>/<variant>/<file>.
_SAMPLE_COUNT = re.compile(r"_n(?P<n>\d+)_")
_RUN_PATTERN = re.compile(r"seed(?P<seed>\d+)/k(?P<k>\d+)/(?P<variant>[A-Za-z0-9_]+)/[^/]+$")


def parse_run(path: str | Path) -> dict:
    """Return seed, k and variant from a result path such as results/x/seed0/k5/semi/m.json."""
    match = _RUN_PATTERN.search(Path(path).as_posix())
    if match is None:
        raise ValueError(f"result path {path} does not end in seed<N>/k<N>/<variant>/<file>")
    return {"seed": int(match["seed"]), "k": int(match["k"]), "variant": match["variant"]}


def collect(gan_metric_files: Sequence[str], accuracy_files: Sequence[str]) -> pd.DataFrame:
    """Build one row per (seed, k, variant) with GAN metrics and test accuracy."""
    rows: dict[tuple, dict] = {}
    for path in accuracy_files:
        run = parse_run(path)
        result = json.loads(Path(path).read_text())
        rows[(run["seed"], run["k"], run["variant"])] = {
            **run, "test_accuracy": result["test_accuracy"],
            "valid_accuracy": result["valid_accuracy"], "n_synthetic": result["n_synthetic"]}
    for path in gan_metric_files:
        run = parse_run(path)
        values = json.loads(Path(path).read_text())["metrics"]
        row = rows.setdefault((run["seed"], run["k"], run["variant"]), dict(run))
        row.update({key: value for key, value in values.items()
                    if isinstance(value, int | float)})
    table = merge_sample_counts(pd.DataFrame(list(rows.values())))
    table = table.sort_values(["k", "variant", "seed"])
    baseline = table[table["variant"] == BASELINE].set_index(["seed", "k"])["test_accuracy"]
    paired = table.set_index(["seed", "k"]).index.map(baseline.to_dict())
    table["accuracy_gain"] = table["test_accuracy"].to_numpy() - np.asarray(paired, float)
    return table.reset_index(drop=True)


def merge_sample_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Merge metric columns that differ only in their sample count into one column.

    Metric keys contain the number of generated samples (`fid_clf_n433_valid`),
    which differs between seeds when class sizes differ. Such columns become one
    column whose key shows the range, e.g. `fid_clf_n433-452_valid`.
    """
    groups: dict[str, list[tuple[int, str]]] = {}
    for column in table.columns:
        match = _SAMPLE_COUNT.search(column)
        if match:
            generic = _SAMPLE_COUNT.sub("_n*_", column, count=1)
            groups.setdefault(generic, []).append((int(match["n"]), column))
    for generic, columns in groups.items():
        if len(columns) < 2:
            continue
        counts = sorted(n for n, _ in columns)
        merged = generic.replace("_n*_", f"_n{counts[0]}-{counts[-1]}_")
        names = [name for _, name in columns]
        table[merged] = table[names].bfill(axis=1).iloc[:, 0]
        table = table.drop(columns=names)
    return table


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation (ddof 1) and seed count of every metric per (k, variant)."""
    value_columns = [c for c in table.columns if c not in ("seed", "k", "variant")]
    grouped = table.groupby(["k", "variant"])[value_columns]
    summary = grouped.agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary["n_seeds"] = table.groupby(["k", "variant"])["seed"].nunique()
    return summary.reset_index()


def markdown_table(summary: pd.DataFrame, metrics: Sequence[str]) -> str:
    """Format `metrics` as "mean ± std" columns of a Markdown table."""
    header = ["k", "variant", "seeds", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in summary.iterrows():
        cells = [str(row["k"]), row["variant"], str(row["n_seeds"])]
        for metric in metrics:
            mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
            cells.append("-" if mean is None or pd.isna(mean) else
                         f"{mean:.4g} ± {0.0 if pd.isna(std) else std:.2g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_accuracy(summary: pd.DataFrame, path: str | Path) -> None:
    """Bar chart of test accuracy per variant and k, error bars one standard deviation."""
    ks = sorted(summary["k"].unique())
    variants = sorted(summary["variant"].unique(), key=lambda v: (v != BASELINE, v))
    figure, axis = plt.subplots(figsize=(1.5 + 1.2 * len(ks) * len(variants) / 2, 3.5))
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        rows = summary[summary["variant"] == variant].set_index("k").reindex(ks)
        axis.bar(np.arange(len(ks)) + i * width, rows["test_accuracy_mean"], width,
                 yerr=rows["test_accuracy_std"].fillna(0), capsize=4, label=variant)
    axis.set_xticks(np.arange(len(ks)) + width * (len(variants) - 1) / 2, [f"k={k}" for k in ks])
    axis.set_ylabel("novel-class test accuracy")
    seeds = int(summary["n_seeds"].max())
    axis.set_title(f"Stage 3 accuracy, mean ± std over {seeds} split seeds")
    axis.legend(frameon=False)
    save_figure(figure, path)


def plot_samples(dataset_path: str, split_path: str, samples: dict[str, str], path: str | Path,
                 classes: int = 10, columns: int = 8) -> None:
    """Show real supports beside generated images of each variant for up to `classes` classes."""
    dataset = read_dataset(dataset_path)
    supports = load_npz(split_path)["supports"]
    novel = np.unique(dataset.labels[supports])[:classes]
    panels = {"real supports": (dataset.images[supports], dataset.labels[supports])}
    for variant, sample_path in samples.items():
        arrays = load_npz(sample_path)
        panels[variant] = (arrays["images"], arrays["labels"])

    figure, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 0.4 * len(novel) + 1))
    for axis, (title, (images, labels)) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        per_row = min(columns, min(int((labels == c).sum()) for c in novel))
        chosen = np.concatenate([images[labels == c][:per_row] for c in novel])
        chosen = np.repeat(chosen, 3 // chosen.shape[1], axis=1)
        axis.imshow(image_grid(chosen, len(novel), per_row))
        axis.set_title(title)
        axis.axis("off")
    save_figure(figure, path)


def aggregate(gan_metric_files: Sequence[str], accuracy_files: Sequence[str],
              per_seed_csv: str, summary_csv: str, summary_md: str, accuracy_png: str) -> None:
    """Write the per-seed table, the mean/std summary (CSV and Markdown) and the accuracy figure."""
    table = collect(gan_metric_files, accuracy_files)
    table.to_csv(per_seed_csv, index=False)
    summary = summarise(table)
    summary.to_csv(summary_csv, index=False)
    metric_names = ["test_accuracy", "accuracy_gain"] + [
        c for c in table.columns
        if c.split("_")[0] in ("fid", "cfid", "kid", "precision", "recall", "density",
                               "coverage")]
    Path(summary_md).write_text(
        "# Results over split seeds\n\nMean ± standard deviation over seeds; accuracy_gain is "
        "the paired difference to the baseline of the same seed.\n\n"
        + markdown_table(summary, metric_names))
    plot_accuracy(summary, accuracy_png)
    log.info("aggregated %d runs into %s", len(table), summary_csv)
