"""The workstation configuration end to end on real Omniglot images (about 30-40 minutes).

Deselected by default; run with `pytest -m full`.
"""

import pandas as pd
import pytest

from tests.test_workflow import copy_workflow, snakemake


@pytest.mark.full
def test_cpu_config_learns(tmp_path, omniglot_dir):
    workdir = copy_workflow(tmp_path, omniglot_dir)
    result = snakemake(workdir, config="configs/cpu.yaml")
    assert result.returncode == 0, result.stderr[-5000:]
    summary = pd.read_csv(workdir / "results/aggregate/summary.csv").set_index("variant")
    chance = 1 / 242
    for variant in ("baseline", "supervised", "semi"):
        assert summary.loc[variant, "test_accuracy_mean"] > 20 * chance, variant
    precision = [c for c in summary.columns if c.startswith("precision_") and c.endswith("mean")]
    assert (summary.loc[["supervised", "semi"], precision[0]] > 0).all()
