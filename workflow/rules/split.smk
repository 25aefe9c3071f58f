rule prepare_dataset:
    input:
        get_dataset_files(),
    output:
        "results/data/dataset.npz",
    params:
        dataset=config["data"]["dataset"],
        root=lambda wildcards, input: os.path.dirname(input[0]),
    log:
        "logs/data/prepare_dataset.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/prepare_dataset.py"


rule split_classes:
    input:
        dataset=rules.prepare_dataset.output[0],
    output:
        "results/split/seed{seed}/classes.npz",
    params:
        n_novel=get_n_novel(),
    log:
        "logs/split/seed{seed}/classes.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/split_classes.py"


rule split_novel:
    input:
        dataset=rules.prepare_dataset.output[0],
        classes=rules.split_classes.output[0],
    output:
        "results/split/seed{seed}/k{k}/split.npz",
    params:
        supports_in_valid=config["data"]["supports_in_valid"],
    log:
        "logs/split/seed{seed}/k{k}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/split_novel.py"
