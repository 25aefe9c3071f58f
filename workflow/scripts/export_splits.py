from pathlib import Path

from fsgan.runs import run_step
from fsgan.splitfiles import export_split_files

run_step(snakemake.log[0], snakemake.threads, export_split_files,
         dataset_path=snakemake.input.dataset, classes_path=snakemake.input.classes,
         split_path=snakemake.input.split, seed=int(snakemake.wildcards.seed),
         k=int(snakemake.wildcards.k), out_dir=str(Path(snakemake.output[0]).parent))
