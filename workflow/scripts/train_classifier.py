from pathlib import Path

from fsgan.pipeline import run_classifier
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, run_classifier,
         dataset_path=snakemake.input.dataset, classes_path=snakemake.input.classes,
         settings=snakemake.params.settings, seed=int(snakemake.wildcards.seed),
         out_dir=str(Path(snakemake.output.model).parent))
