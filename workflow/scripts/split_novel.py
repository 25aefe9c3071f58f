from fsgan.pipeline import write_novel_split
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, write_novel_split,
         dataset_path=snakemake.input.dataset, classes_path=snakemake.input.classes,
         k=int(snakemake.wildcards.k), supports_in_valid=snakemake.params.supports_in_valid,
         output=snakemake.output[0], seed=int(snakemake.wildcards.seed),
         imported=snakemake.params.imported)
