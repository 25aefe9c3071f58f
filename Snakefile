# fsgan: GAN-based few-shot data augmentation, from class split to aggregated results.
# Settings: config.yaml (override with --configfile); keys: workflow/schemas/config.schema.yaml.

from snakemake.exceptions import WorkflowError

from fsgan.config import ConfigError, validate_config
from fsgan.data import DatasetError
from fsgan.data.inputs import check_data_settings


configfile: "config.yaml"



try:
    validate_config(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
    check_data_settings(config["data"], config["seeds"], config["ks"])
except (ConfigError, DatasetError) as error:
    raise WorkflowError(str(error)) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/classifier.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/samples.smk"
include: "workflow/rules/gan_metrics.smk"
include: "workflow/rules/augmented.smk"
include: "workflow/rules/aggregate.smk"


rule all:
    input:
        get_final_outputs(),
    default_target: True
