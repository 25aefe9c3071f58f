from fsgan.aggregate import plot_samples
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, plot_samples,
         dataset_path=snakemake.input.dataset, split_path=snakemake.input.split,
         samples=dict(zip(snakemake.params.variants, snakemake.input.samples, strict=True)),
         path=snakemake.output[0])
