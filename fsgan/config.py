"""Validation of the workflow configuration, with errors that name the key to fix."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """Raised for an invalid configuration; the message lists every bad key."""


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key_path(error)
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        prefix = "" if key == "<top level>" else key + "."
        return (f"unknown config key {', '.join(prefix + name for name in unknown)}; "
                f"allowed keys here: {known}")
    if "propertyNames" in error.relative_schema_path:
        return (f"config key {key}: the name {error.instance!r} is not allowed; names use "
                "lower-case letters, digits and underscores, and 'baseline' is reserved for "
                "the classifier trained on the supports alone")
    hint = error.schema.get("description")
    message = f"config key {key}: {error.message}"
    return f"{message} ({hint})" if hint else message


def validate_config(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Check `config` against the JSON schema and the rules a schema cannot state.

    Raises ConfigError listing every problem, each with its key.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = [_describe(error) for error in sorted(validator.iter_errors(config),
                                                     key=lambda e: list(e.absolute_path))]
    if not problems:
        for name, variant in config["finetune"]["variants"].items():
            if (variant["unlabelled"] and variant["alpha"] > 0
                    and variant["discriminator_mode"] == "embed"):
                problems.append(
                    f"config key finetune.variants.{name}.discriminator_mode: 'embed' trains "
                    "only the projection embedding, so the unconditional term on unlabelled "
                    "images cannot train the discriminator; use 'linear' or 'all'")
    if not problems:
        weights = config["metrics"]["inception_weights"]
        uses_inception = config["metrics"]["extractor"] == "inception"
        if uses_inception and weights and not Path(weights).is_file():
            problems.append(
                f"config key metrics.inception_weights: file {weights!r} not found; download "
                "pt_inception-2015-12-05-6726825d.pth from the pytorch-fid releases on GitHub "
                "and give its path, or set it to null to use torch hub's cache")
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems)
                          + f"\nThe keys are described in {schema_path}.")
