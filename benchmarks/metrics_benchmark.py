"""Compare wall time and peak memory of fsgan.metrics with the reference packages.

For each sample count N, both sets are N random float64 features of --dim dimensions
(real ~ N(0, 1), generated ~ N(0.1, 1.1^2), fixed seed), and each measurement runs in a
fresh process started with multiprocessing's 'spawn' method:

* PRDC: fsgan.metrics.prdc vs prdc.compute_prdc (prdc 0.2);
* FID: fsgan.metrics.fid vs numpy mean/covariance plus
  pytorch_fid.fid_score.calculate_frechet_distance (pytorch-fid 0.3.0).

Peak memory is the increase of the process's ru_maxrss (peak resident set size) from just
before the call to just after it, so it excludes the interpreter, the imports and the
input features. The prdc package keeps N x N float64 distance matrices in memory, so it
is skipped when its estimated peak (3 * N^2 * 8 bytes) times the safety factor exceeds
MemAvailable from /proc/meminfo.

Run from the repository root:

    PYTHONPATH=. python benchmarks/metrics_benchmark.py --sizes 2000 5000 22400
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import platform
import resource
import time
from typing import Any

# Factor applied to the prdc package's estimated memory before it is compared with
# MemAvailable. It covers the temporaries that the 3 * N^2 * 8 estimate leaves out.
SAFETY_FACTOR = 1.5


def make_features(n: int, dim: int, seed: int) -> tuple[Any, Any]:
    """Return (real, generated) float64 feature arrays of shape (n, dim)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    real = rng.normal(0.0, 1.0, size=(n, dim))
    fake = rng.normal(0.1, 1.1, size=(n, dim))
    return real, fake


def run_ours_prdc(real, fake, options):
    from fsgan import metrics

    return metrics.prdc(
        real, fake, nearest_k=options["nearest_k"], chunk_size=options["chunk_size"],
        device=options["device"],
    )


def run_package_prdc(real, fake, options):
    import prdc

    # compute_prdc prints the sample counts; keep the table readable.
    with contextlib.redirect_stdout(io.StringIO()):
        values = prdc.compute_prdc(real, fake, nearest_k=options["nearest_k"])
    return {name: float(value) for name, value in values.items()}


def run_ours_fid(real, fake, options):
    from fsgan import metrics

    return {"fid": metrics.fid(real, fake)}


def run_pytorch_fid(real, fake, options):
    import warnings

    import numpy as np
    from pytorch_fid.fid_score import calculate_frechet_distance

    mu_real, sigma_real = np.mean(real, axis=0), np.cov(real, rowvar=False)
    mu_fake, sigma_fake = np.mean(fake, axis=0), np.cov(fake, rowvar=False)
    with warnings.catch_warnings():
        # pytorch-fid 0.3.0 passes sqrtm's `disp` argument, deprecated in SciPy 1.16.
        warnings.simplefilter("ignore", DeprecationWarning)
        value = calculate_frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake)
    return {"fid": float(value)}


RUNNERS = {
    ("prdc", "fsgan"): run_ours_prdc,
    ("prdc", "prdc 0.2"): run_package_prdc,
    ("fid", "fsgan"): run_ours_fid,
    ("fid", "pytorch-fid 0.3.0"): run_pytorch_fid,
}


def measure(metric: str, implementation: str, n: int, options: dict, connection) -> None:
    """Run one implementation in this (fresh) process; send time, memory and values back."""
    if options["threads"]:
        # BLAS reads these when numpy and torch are first imported, which happens below.
        for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(options["threads"])

    # Import every library first so that import memory is part of the baseline for all.
    import numpy  # noqa: F401
    import prdc  # noqa: F401
    import pytorch_fid.fid_score  # noqa: F401
    import torch

    from fsgan import metrics  # noqa: F401

    if options["threads"]:
        torch.set_num_threads(options["threads"])
    real, fake = make_features(n, options["dim"], options["seed"])
    runner = RUNNERS[(metric, implementation)]

    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The minimum over repeats is the least disturbed by other processes on the machine.
    seconds = float("inf")
    for _ in range(options["repeats"][metric]):
        start = time.perf_counter()
        values = runner(real, fake, options)
        seconds = min(seconds, time.perf_counter() - start)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    connection.send(
        {"seconds": seconds, "peak_mib": (peak_kib - baseline_kib) / 1024, "values": values}
    )
    connection.close()


def measure_in_subprocess(metric: str, implementation: str, n: int, options: dict) -> dict:
    """Run `measure` in a fresh spawned process and return its result.

    A plain Process is used because a Pool worker is daemonic, and joblib (used by the
    prdc package through scikit-learn) then falls back to one job.
    """
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=measure, args=(metric, implementation, n, options, sender))
    process.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError as error:
        process.join()
        raise RuntimeError(
            f"{implementation} {metric} at N={n} exited with code {process.exitcode} "
            "before reporting (out of memory?)"
        ) from error
    process.join()
    return result


def available_memory_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("MemAvailable not found in /proc/meminfo")


def package_prdc_estimate_bytes(n: int) -> int:
    """Estimate the prdc package's peak memory: three N x N float64 matrices."""
    return 3 * n * n * 8


def format_values(values: dict) -> str:
    return ", ".join(f"{name}={value:.6g}" for name, value in values.items())


def max_difference(ours: dict, reference: dict) -> float:
    return max(abs(ours[name] - reference[name]) for name in reference)


def print_machine(options: dict) -> None:
    import numpy
    import scipy
    import torch

    gib = 1024**3
    print(f"# machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, MemAvailable {available_memory_bytes() / gib:.1f} GiB")
    threads = options["threads"] or f"default ({torch.get_num_threads()} for torch)"
    print(f"# torch {torch.__version__}, threads: {threads}, "
          f"numpy {numpy.__version__}, scipy {scipy.__version__}, "
          f"device={options['device'] or 'auto'}")
    print(f"# features: float64, dim={options['dim']}, seed={options['seed']}, "
          f"nearest_k={options['nearest_k']}, chunk_size={options['chunk_size']}")
    print(f"# wall time: minimum over {options['repeats']['prdc']} PRDC and "
          f"{options['repeats']['fid']} FID runs per measurement")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 22400],
                        help="samples per set (real and generated), one run each")
    parser.add_argument("--dim", type=int, default=512, help="feature dimensions")
    parser.add_argument("--device", default=None,
                        help="torch device for fsgan's prdc (default: CUDA if available)")
    parser.add_argument("--nearest-k", type=int, default=3, help="k of the k-NN radii")
    parser.add_argument("--chunk-size", type=int, default=4096,
                        help="tile size of fsgan's prdc, in samples")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch and BLAS threads (default 0: the libraries' defaults)")
    parser.add_argument("--prdc-repeats", type=int, default=1,
                        help="PRDC runs per measurement; the minimum time is reported")
    parser.add_argument("--fid-repeats", type=int, default=3,
                        help="FID runs per measurement; the minimum time is reported")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random features")
    args = parser.parse_args()
    options = {
        "dim": args.dim, "device": args.device, "nearest_k": args.nearest_k,
        "chunk_size": args.chunk_size, "threads": args.threads, "seed": args.seed,
        "repeats": {"prdc": args.prdc_repeats, "fid": args.fid_repeats},
    }

    print_machine(options)
    print()
    print("| N | metric | implementation | wall time (s) | peak memory increase (MiB) "
          "| values | max abs difference to fsgan | load avg (1 min) before |")
    print("|---|---|---|---|---|---|---|---|")

    for n in args.sizes:
        for metric, implementations in (("prdc", ("fsgan", "prdc 0.2")),
                                        ("fid", ("fsgan", "pytorch-fid 0.3.0"))):
            results = {}
            for implementation in implementations:
                if implementation == "prdc 0.2":
                    needed = package_prdc_estimate_bytes(n) * SAFETY_FACTOR
                    available = available_memory_bytes()
                    if needed > available:
                        print(f"| {n} | {metric} | {implementation} | skipped | - | needs an "
                              f"estimated {needed / 1024**3:.1f} GiB (3 N^2 x 8 bytes x "
                              f"{SAFETY_FACTOR}), but only {available / 1024**3:.1f} GiB "
                              "is available | - | - |", flush=True)
                        continue
                load = os.getloadavg()[0]
                result = measure_in_subprocess(metric, implementation, n, options)
                results[implementation] = result
                difference = "-"
                if implementation != "fsgan" and "fsgan" in results:
                    gap = max_difference(results["fsgan"]["values"], result["values"])
                    difference = f"{gap:.2e}"
                print(f"| {n} | {metric} | {implementation} | {result['seconds']:.2f} "
                      f"| {result['peak_mib']:.0f} | {format_values(result['values'])} "
                      f"| {difference} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
