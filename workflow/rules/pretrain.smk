rule pretrain_gan:
    input:
        dataset=rules.prepare_dataset.output[0],
        classes=rules.split_classes.output[0],
        classifier=rules.train_classifier.output.model,
    output:
        model="results/pretrain/seed{seed}/model.pt",
        summary="results/pretrain/seed{seed}/summary.json",
    params:
        gan=config["gan"],
        pretrain=config["pretrain"],
    log:
        "logs/pretrain/seed{seed}.log",
    threads: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/pretrain_gan.py"
