import json

import numpy as np
import pandas as pd
import pytest

from fsgan.aggregate import collect, merge_sample_counts, parse_run, summarise


def write_run(root, stage, seed, k, variant, data):
    path = root / stage / f"seed{seed}" / f"k{k}" / variant / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return str(path)


def test_parse_run_reads_path_segments():
    assert parse_run("results/gan_metrics/seed3/k15/semi/metrics.json") == {
        "seed": 3, "k": 15, "variant": "semi"}


def test_parse_run_rejects_other_paths():
    with pytest.raises(ValueError, match="seed<N>/k<N>/<variant>"):
        parse_run("results/summary.json")


def test_collect_pairs_gain_with_baseline(tmp_path):
    accuracy, gan = [], []
    for seed, (base, semi) in enumerate([(0.5, 0.6), (0.4, 0.45)]):
        for variant, value in (("baseline", base), ("semi", semi)):
            accuracy.append(write_run(tmp_path, "augmented", seed, 5, variant, {
                "test_accuracy": value, "valid_accuracy": value, "n_synthetic": 0}))
        gan.append(write_run(tmp_path, "gan_metrics", seed, 5, "semi", {
            "metrics": {"fid_clf_n80_valid": 10.0 + seed, "cfid_per_class_clf_n80_valid": {}}}))
    table = collect(gan, accuracy)
    semi = table[table["variant"] == "semi"].set_index("seed")
    assert semi.loc[0, "accuracy_gain"] == pytest.approx(0.1)
    assert semi.loc[1, "accuracy_gain"] == pytest.approx(0.05)
    assert "cfid_per_class_clf_n80_valid" not in table.columns

    summary = summarise(table).set_index("variant")
    assert summary.loc["semi", "test_accuracy_mean"] == pytest.approx(0.525)
    assert summary.loc["semi", "test_accuracy_std"] == pytest.approx(np.std([0.6, 0.45], ddof=1))
    assert summary.loc["semi", "fid_clf_n80_valid_mean"] == pytest.approx(10.5)
    assert summary.loc["semi", "n_seeds"] == 2


def test_merge_sample_counts_across_seeds():
    table = pd.DataFrame({"seed": [0, 1], "fid_clf_n10_valid": [1.0, np.nan],
                          "fid_clf_n12_valid": [np.nan, 2.0]})
    merged = merge_sample_counts(table)
    assert list(merged.columns) == ["seed", "fid_clf_n10-12_valid"]
    assert merged["fid_clf_n10-12_valid"].tolist() == [1.0, 2.0]


def test_merge_sample_counts_keeps_single_count():
    table = pd.DataFrame({"seed": [0, 1], "fid_clf_n10_valid": [1.0, 2.0]})
    assert list(merge_sample_counts(table).columns) == ["seed", "fid_clf_n10_valid"]
