import copy
from pathlib import Path

import pytest
import yaml

from fsgan.config import ConfigError, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.mark.parametrize("override", ["configs/cpu.yaml", "configs/tiny.yaml",
                                      "configs/digits.yaml", "configs/emnist.yaml",
                                      "configs/cifar100.yaml"])
def test_shipped_configs_valid(config, override):
    merged = copy.deepcopy(config)
    for key, value in yaml.safe_load((REPO / override).read_text()).items():
        if isinstance(value, dict):
            merged[key].update(value)
        else:
            merged[key] = value
    validate_config(merged, SCHEMA)


def test_wrong_type_names_key(config):
    config["gan"]["ngf"] = "big"
    with pytest.raises(ConfigError, match=r"gan\.ngf: 'big' is not of type 'integer'"):
        validate_config(config, SCHEMA)


def test_unknown_key_named(config):
    config["pretrain"]["iteratons"] = 10
    with pytest.raises(ConfigError, match=r"unknown config key pretrain\.iteratons") as error:
        validate_config(config, SCHEMA)
    assert "iterations" in str(error.value)


def test_unknown_top_level_key(config):
    config["seed"] = [0]
    with pytest.raises(ConfigError, match="unknown config key seed;"):
        validate_config(config, SCHEMA)


def test_bad_variant_mode(config):
    config["finetune"]["variants"]["semi"]["generator_mode"] = "head"
    with pytest.raises(ConfigError, match=r"finetune\.variants\.semi\.generator_mode"):
        validate_config(config, SCHEMA)


def test_semi_with_embed_discriminator_rejected(config):
    config["finetune"]["variants"]["semi"]["discriminator_mode"] = "embed"
    with pytest.raises(ConfigError, match="use 'linear' or 'all'"):
        validate_config(config, SCHEMA)


def test_variant_named_baseline_rejected(config):
    config["finetune"]["variants"]["baseline"] = config["finetune"]["variants"]["semi"]
    with pytest.raises(ConfigError, match="baseline"):
        validate_config(config, SCHEMA)


def test_every_error_listed(config):
    config["ks"] = "5"
    config["gan"]["augment_p"] = 2
    with pytest.raises(ConfigError) as error:
        validate_config(config, SCHEMA)
    assert "config key ks" in str(error.value)
    assert "config key gan.augment_p" in str(error.value)


def test_missing_inception_weights_named(config, tmp_path):
    config["metrics"]["extractor"] = "inception"
    config["metrics"]["inception_weights"] = str(tmp_path / "absent.pth")
    with pytest.raises(ConfigError, match=r"metrics\.inception_weights: file .*absent\.pth"):
        validate_config(config, SCHEMA)
