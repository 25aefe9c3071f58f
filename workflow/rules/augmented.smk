rule train_augmented:
    input:
        unpack(get_samples),
        dataset=rules.prepare_dataset.output[0],
        split=rules.split_novel.output[0],
        classifier=rules.train_classifier.output.model,
    output:
        "results/augmented/seed{seed}/k{k}/{variant}/metrics.json",
    params:
        settings=config["augmented"],
    log:
        "logs/augmented/seed{seed}/k{k}/{variant}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/train_augmented.py"
