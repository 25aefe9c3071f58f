rule finetune_gan:
    input:
        dataset=rules.prepare_dataset.output[0],
        split=rules.split_novel.output[0],
        pretrained=rules.pretrain_gan.output.model,
        classifier=rules.train_classifier.output.model,
    output:
        model="results/finetune/seed{seed}/k{k}/{variant}/model.pt",
        summary="results/finetune/seed{seed}/k{k}/{variant}/summary.json",
    params:
        gan=config["gan"],
        finetune={
            key: value for key, value in config["finetune"].items() if key != "variants"
        },
        variant=get_variant_settings,
    log:
        "logs/finetune/seed{seed}/k{k}/{variant}.log",
    threads: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/finetune_gan.py"
