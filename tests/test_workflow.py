"""The whole Snakemake workflow on real Omniglot images, in a fresh copy of the repository."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_workflow(destination: Path, data_root: Path, overrides: dict | None = None) -> Path:
    """Copy the workflow files to `destination` and point the config at `data_root`."""
    for name in ("Snakefile", "config.yaml", "configs", "workflow", "envs"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, symlinks=True)
        else:
            shutil.copy(source, destination / name)
    local = {"data": {"root": str(data_root)}, **(overrides or {})}
    (destination / "local.yaml").write_text(yaml.safe_dump(local))
    return destination


def snakemake(workdir: Path, *arguments: str, config: str = "configs/tiny.yaml"
              ) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--cores", "2", "--configfile", config, "local.yaml",
                           *arguments], cwd=workdir, capture_output=True, text=True,
                          timeout=1200)


def planned_jobs(output: str) -> list[str]:
    """Parse a dry run into 'rule wildcards' strings."""
    jobs, rule = [], None
    for line in output.splitlines():
        match = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if match:
            rule = match[1]
            jobs.append(rule)
        elif rule and line.strip().startswith("wildcards:"):
            jobs[-1] = f"{rule} {line.strip()[len('wildcards: '):]}"
    return jobs


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, omniglot_dir):
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"), omniglot_dir)
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.mark.workflow
def test_workflow_writes_tables_and_figures(finished_run):
    aggregate = finished_run / "results" / "aggregate"
    summary = pd.read_csv(aggregate / "summary.csv")
    assert set(summary["variant"]) == {"baseline", "supervised", "semi"}
    assert (summary["n_seeds"] == 2).all()
    gan_rows = summary[summary["variant"] != "baseline"]
    fid_columns = [c for c in summary.columns if re.fullmatch(r"fid_clf_n\d+_valid_mean", c)]
    assert len(fid_columns) == 1
    assert gan_rows[fid_columns[0]].notna().all()
    assert (aggregate / "summary.md").read_text().count("\n|") >= 4
    for figure in ("accuracy.png", "samples/seed0_k5.png", "samples/seed1_k5.png"):
        assert (aggregate / figure).stat().st_size > 1000, figure


@pytest.mark.workflow
def test_workflow_records_runs(finished_run):
    run = json.loads((finished_run / "results/finetune/seed1/k5/semi/run.json").read_text())
    assert run["seed"] == 1
    assert run["settings"]["variant"]["unlabelled"] is True
    stats = (finished_run / "results/pretrain/seed0/stats.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in stats] == [0, 20, 40]
    summary = json.loads((finished_run / "results/finetune/seed0/k5/semi/summary.json")
                         .read_text())
    assert summary["discriminator_mode"] == "linear"
    log = (finished_run / "logs/finetune/seed0/k5/semi.log").read_text()
    assert "kept the checkpoint" in log


@pytest.mark.workflow
def test_workflow_second_run_has_nothing_to_do(finished_run):
    result = snakemake(finished_run, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.workflow
def test_workflow_reruns_only_deleted_branch(finished_run):
    (finished_run / "results/finetune/seed0/k5/semi/model.pt").unlink()
    dry = snakemake(finished_run, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = sorted(planned_jobs(dry.stdout + dry.stderr))
    assert jobs == sorted([
        "aggregate", "all",
        "draw_samples seed=0, k=5, variant=semi",
        "evaluate_gan seed=0, k=5, variant=semi",
        "finetune_gan seed=0, k=5, variant=semi",
        "plot_samples seed=0, k=5",
        "train_augmented seed=0, k=5, variant=semi",
    ])
    rerun = snakemake(finished_run)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    again = snakemake(finished_run, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize(("overrides", "message"), [
    ({"gan": {"ngf": "large"}}, "config key gan.ngf: 'large' is not of type 'integer'"),
    ({"pretrain": {"iteratons": 5}}, "unknown config key pretrain.iteratons"),
    ({"data": {"root": "/nonexistent/omniglot"}}, "config key data.root"),
])
def test_bad_input_stops_before_training(tmp_path, omniglot_dir, overrides, message):
    workdir = copy_workflow(tmp_path, omniglot_dir)
    local = yaml.safe_load((workdir / "local.yaml").read_text())
    for key, value in overrides.items():
        local.setdefault(key, {}).update(value)
    (workdir / "local.yaml").write_text(yaml.safe_dump(local))
    result = snakemake(workdir, "--dry-run")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_missing_zip_stops_before_training(tmp_path, omniglot_dir):
    data = tmp_path / "data"
    data.mkdir()
    (data / "images_background_small1.zip").symlink_to(
        omniglot_dir / "images_background_small1.zip")
    workdir = tmp_path / "run"
    workdir.mkdir()
    copy_workflow(workdir, data)
    result = snakemake(workdir)
    assert result.returncode != 0
    assert "images_background_small2.zip" in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_lint_clean(tmp_path, omniglot_dir):
    workdir = copy_workflow(tmp_path, omniglot_dir)
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr
