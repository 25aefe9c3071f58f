if DOWNLOADS:

    # Defined only while some dataset file is missing and data.download is true;
    # its outputs are exactly the missing files, so a failed download removes
    # nothing that was already there.
    rule download_dataset:
        output:
            [f"{DATA_ROOT}/{file}" for item in DOWNLOADS for file in item.provides],
        params:
            dataset=config["data"]["dataset"],
            # Every download writes directly into the data folder.
            root=lambda wildcards, output: os.path.dirname(output[0]),
        log:
            "logs/data/download_dataset.log",
        conda:
            CONDA_ENV
        script:
            "../scripts/download_dataset.py"


rule prepare_dataset:
    input:
        # A function, so that file names are used as they are, braces included.
        lambda wildcards: DATASET_FILES,
    output:
        "results/data/dataset.npz",
    params:
        dataset=config["data"]["dataset"],
        root=DATA_ROOT,
        split_files=config["data"]["split_files"],
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
        novel_classes=config["data"]["novel_classes"],
        imported=IMPORTED,
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
        imported=IMPORTED,
    log:
        "logs/split/seed{seed}/k{k}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/split_novel.py"


rule export_split:
    input:
        dataset=rules.prepare_dataset.output[0],
        classes=rules.split_classes.output[0],
        split=rules.split_novel.output[0],
    output:
        [
            f"results/splits/{split_file_name(config['data']['dataset'], '{seed}', '{k}', split)}"
            for split in SPLITS
        ],
    log:
        "logs/splits/seed{seed}_k{k}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/export_splits.py"


# Target for the split files of every configured seed and k: snakemake export_splits
rule export_splits:
    input:
        expand(rules.export_split.output, seed=config["seeds"], k=config["ks"]),
