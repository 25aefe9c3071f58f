from fsgan.pipeline import write_class_split
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, write_class_split,
         dataset_path=snakemake.input.dataset, n_novel=snakemake.params.n_novel,
         seed=int(snakemake.wildcards.seed), output=snakemake.output[0],
         novel_classes=snakemake.params.novel_classes, imported=snakemake.params.imported)
