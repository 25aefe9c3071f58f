from pathlib import Path

from fsgan.pipeline import run_pretrain
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, run_pretrain,
         dataset_path=snakemake.input.dataset, classes_path=snakemake.input.classes,
         classifier_path=snakemake.input.classifier, gan=snakemake.params.gan,
         pretrain=snakemake.params.pretrain, seed=int(snakemake.wildcards.seed),
         out_dir=str(Path(snakemake.output.model).parent))
