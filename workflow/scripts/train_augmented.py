from pathlib import Path

from fsgan.pipeline import run_augmented
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, run_augmented,
         dataset_path=snakemake.input.dataset, split_path=snakemake.input.split,
         classifier_path=snakemake.input.classifier,
         samples_path=snakemake.input.get("samples"), settings=snakemake.params.settings,
         seed=int(snakemake.wildcards.seed), out_dir=str(Path(snakemake.output[0]).parent))
