from pathlib import Path

from fsgan.pipeline import run_finetune
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, run_finetune,
         dataset_path=snakemake.input.dataset, split_path=snakemake.input.split,
         pretrained_path=snakemake.input.pretrained, classifier_path=snakemake.input.classifier,
         gan=snakemake.params.gan, finetune=snakemake.params.finetune,
         variant=snakemake.params.variant, seed=int(snakemake.wildcards.seed),
         out_dir=str(Path(snakemake.output.model).parent))
