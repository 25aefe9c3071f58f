from fsgan.pipeline import draw_samples
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, draw_samples,
         dataset_path=snakemake.input.dataset, classes_path=snakemake.input.classes,
         split_path=snakemake.input.split, generator_path=snakemake.input.generator,
         per_class=snakemake.params.per_class, sigma=snakemake.params.sigma,
         seed=int(snakemake.wildcards.seed), output=snakemake.output.samples,
         grid_path=snakemake.output.grid)
