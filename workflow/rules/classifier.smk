rule train_classifier:
    input:
        dataset=rules.prepare_dataset.output[0],
        classes=rules.split_classes.output[0],
    output:
        model="results/classifier/seed{seed}/model.pt",
        summary="results/classifier/seed{seed}/summary.json",
    params:
        settings=config["classifier"],
    log:
        "logs/classifier/seed{seed}.log",
    threads: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/train_classifier.py"
