rule aggregate:
    input:
        gan_metrics=expand(
            rules.evaluate_gan.output[0],
            seed=config["seeds"],
            k=config["ks"],
            variant=VARIANTS,
        ),
        accuracy=expand(
            rules.train_augmented.output[0],
            seed=config["seeds"],
            k=config["ks"],
            variant=[BASELINE, *VARIANTS],
        ),
    output:
        per_seed="results/aggregate/per_seed.csv",
        summary="results/aggregate/summary.csv",
        table="results/aggregate/summary.md",
        accuracy="results/aggregate/accuracy.png",
    log:
        "logs/aggregate/aggregate.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/aggregate.py"


rule plot_samples:
    input:
        dataset=rules.prepare_dataset.output[0],
        split=rules.split_novel.output[0],
        samples=expand(
            "results/samples/seed{{seed}}/k{{k}}/{variant}/samples.npz", variant=VARIANTS
        ),
    output:
        "results/aggregate/samples/seed{seed}_k{k}.png",
    params:
        variants=VARIANTS,
    log:
        "logs/aggregate/samples/seed{seed}_k{k}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_samples.py"
