from fsgan.pipeline import evaluate_gan
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, evaluate_gan,
         dataset_path=snakemake.input.dataset, split_path=snakemake.input.split,
         generator_path=snakemake.input.generator, classifier_path=snakemake.input.classifier,
         sigma=snakemake.params.sigma, settings=snakemake.params.settings,
         seed=int(snakemake.wildcards.seed), output=snakemake.output[0])
