rule evaluate_gan:
    input:
        dataset=rules.prepare_dataset.output[0],
        split=rules.split_novel.output[0],
        generator=rules.finetune_gan.output.model,
        classifier=rules.train_classifier.output.model,
    output:
        "results/gan_metrics/seed{seed}/k{k}/{variant}/metrics.json",
    params:
        sigma=config["gan"]["sigma_sample"],
        settings=config["metrics"],
    log:
        "logs/gan_metrics/seed{seed}/k{k}/{variant}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/evaluate_gan.py"
