"""The decision spec: models, loading with located errors, presets and the JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from llmpick.spec._loader import LoadedSpec, Problem, SpecError, load_spec, parse_spec_text
from llmpick.spec._models import (
    MAX_OUTPUT_TOKENS,
    TUNED_PREFIX,
    Candidate,
    Constraints,
    Dataset,
    DatasetSplit,
    Endpoint,
    GgufModel,
    Needs,
    PromptVariant,
    Safety,
    ScorerSpec,
    Scoring,
    Spec,
    TuneSpec,
    Weights,
)
from llmpick.spec._presets import PRESETS, Preset, preset_spec
from llmpick.spec._render import SCHEMA_FILENAME, render_spec

__all__ = [
    "MAX_OUTPUT_TOKENS",
    "PRESETS",
    "SCHEMA_FILENAME",
    "TUNED_PREFIX",
    "Candidate",
    "Constraints",
    "Dataset",
    "DatasetSplit",
    "Endpoint",
    "GgufModel",
    "LoadedSpec",
    "Needs",
    "Preset",
    "Problem",
    "PromptVariant",
    "Safety",
    "ScorerSpec",
    "Scoring",
    "Spec",
    "SpecError",
    "TuneSpec",
    "Weights",
    "json_schema",
    "json_schema_text",
    "load_spec",
    "parse_spec_text",
    "preset_spec",
    "render_spec",
]


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `llmpick.yaml`, for editors and other tools."""
    schema = Spec.model_json_schema(mode="validation")
    # A candidate may be written as a bare catalog id; pydantic's schema only knows the mapping.
    schema["properties"]["candidates"]["items"] = {
        "anyOf": [
            {"type": "string", "description": "Catalog model id, e.g. openai/gpt-4o-mini."},
            {"$ref": "#/$defs/Candidate"},
        ]
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_schema_text() -> str:
    """The schema as stable, indented JSON (what `llmpick schema` prints)."""
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
