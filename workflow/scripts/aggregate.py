from fsgan.aggregate import aggregate
from fsgan.runs import run_step

run_step(snakemake.log[0], snakemake.threads, aggregate,
         gan_metric_files=list(snakemake.input.gan_metrics),
         accuracy_files=list(snakemake.input.accuracy), per_seed_csv=snakemake.output.per_seed,
         summary_csv=snakemake.output.summary, summary_md=snakemake.output.table,
         accuracy_png=snakemake.output.accuracy)
