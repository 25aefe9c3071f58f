"""Helpers shared by every training run: device choice, seeding, run records, atomic writes."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import fsgan

log = logging.getLogger(__name__)


def select_device(request: str | None = None) -> torch.device:
    """Return the device from `request` or FSGAN_DEVICE; "auto" means CUDA when present."""
    request = request or os.environ.get("FSGAN_DEVICE", "auto")
    if request == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if request.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {request!r} was requested (FSGAN_DEVICE) but CUDA is not "
                           "available; unset FSGAN_DEVICE or set it to 'cpu'")
    return torch.device(request)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that a CPU run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def git_commit() -> str | None:
    """Return the commit of the fsgan checkout, or None outside a git checkout."""
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(fsgan.__file__).parent, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically: a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True, default=_to_json) + "\n")
    os.replace(partial, path)


def _to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> None:
    """Save a torch checkpoint atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(dict(state), partial)
    os.replace(partial, path)


def write_run_record(out_dir: str | Path, settings: Mapping[str, Any], seed: int) -> None:
    """Record the resolved settings, package version, git commit and seed of a run."""
    write_json(Path(out_dir) / "run.json", {
        "settings": settings,
        "seed": seed,
        "fsgan_version": fsgan.__version__,
        "git_commit": git_commit(),
        "torch_version": torch.__version__,
        "python": sys.version.split()[0],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })


class StatsWriter:
    """Append one JSON object per evaluation interval to `stats.jsonl`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def write(self, **stats: Any) -> None:
        with self.path.open("a") as file:
            file.write(json.dumps(stats, default=_to_json) + "\n")


class Progress:
    """Log a status line at most every `interval` seconds, with rate and time left."""

    def __init__(self, total: int, name: str, interval: float = 30.0) -> None:
        self.total, self.name, self.interval = total, name, interval
        self.start = self.last = time.monotonic()

    def update(self, step: int, **values: float) -> None:
        now = time.monotonic()
        if now - self.last < self.interval and step != self.total:
            return
        self.last = now
        seconds_per_step = (now - self.start) / max(step, 1)
        remaining = (self.total - step) * seconds_per_step
        speed = (f"{1 / seconds_per_step:.1f} {self.name}/s" if seconds_per_step < 1
                 else f"{seconds_per_step:.1f} s/{self.name}")
        details = " ".join(f"{key}={value:.4g}" for key, value in values.items())
        log.info("%s %d/%d (%s, %.0f s left) %s", self.name, step, self.total, speed,
                 remaining, details)


def configure_logging(log_file: str | Path | None = None) -> None:
    """Send fsgan's log records to `log_file` (or stderr) with timestamps."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler()
    else:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def run_step(log_file: str, threads: int, step: Callable[..., None], **arguments: Any) -> None:
    """Run one workflow step with logging to `log_file` and `threads` torch threads.

    An exception is written to the log with its traceback before it propagates,
    so the log of a failed job shows why it failed.
    """
    configure_logging(log_file)
    torch.set_num_threads(max(1, threads))
    log.info("%s on %s with %d thread(s)", step.__name__, select_device(), threads)
    start = time.monotonic()
    try:
        step(**arguments)
    except Exception:
        log.exception("%s failed", step.__name__)
        raise
    log.info("%s finished in %.1f s", step.__name__, time.monotonic() - start)
