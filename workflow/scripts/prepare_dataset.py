from fsgan.pipeline import prepare_dataset
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, prepare_dataset,
         name=snakemake.params.dataset, root=snakemake.params.root,
         output=snakemake.output[0], split_files=snakemake.params.split_files)
