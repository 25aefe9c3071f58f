from fsgan.data.registry import download_dataset
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, download_dataset,
         name=snakemake.params.dataset, root=snakemake.params.root)
