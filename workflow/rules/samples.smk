rule draw_samples:
    input:
        dataset=rules.prepare_dataset.output[0],
        classes=rules.split_classes.output[0],
        split=rules.split_novel.output[0],
        generator=rules.finetune_gan.output.model,
    output:
        samples="results/samples/seed{seed}/k{k}/{variant}/samples.npz",
        grid="results/samples/seed{seed}/k{k}/{variant}/grid.png",
    params:
        per_class=config["samples"]["per_class"],
        sigma=config["gan"]["sigma_sample"],
    log:
        "logs/samples/seed{seed}/k{k}/{variant}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/draw_samples.py"
