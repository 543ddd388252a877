"""Write a spec back out as commented YAML, each key preceded by its field description.

A generic emitter (rather than a template per preset) keeps every written file in step with the
models: add a field with a description and `llmpick init` documents it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from llmpick.spec._models import Candidate, ScorerSpec, Spec

SCHEMA_FILENAME = "llmpick.schema.json"
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./:{}-]*$")
_RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~"}
_INDENT = "  "


def render_spec(spec: Spec, *, title: str | None = None, schema_ref: str = SCHEMA_FILENAME) -> str:
    """The spec as YAML with a schema header and a comment above every key."""
    lines = [f"# yaml-language-server: $schema={schema_ref}"]
    if title:
        lines += [f"# {line}" if line else "#" for line in title.splitlines()]
    lines.append("# Every key is documented; run `llmpick validate FILE` after editing.")
    for name in type(spec).model_fields:
        lines.append("")
        lines += _field(spec, name, 0)
    return "\n".join(lines) + "\n"


def _field(model: BaseModel, name: str, depth: int) -> list[str]:
    info = type(model).model_fields[name]
    value = getattr(model, name)
    pad = _INDENT * depth
    out = [f"{pad}# {info.description}"] if info.description else []
    return out + _key_value(name, value, depth)


def _key_value(key: str, value: Any, depth: int) -> list[str]:
    pad = _INDENT * depth
    if isinstance(value, BaseModel):
        body: list[str] = []
        for name in type(value).model_fields:
            body += _field(value, name, depth + 1)
        return [f"{pad}{key}:", *body]
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        out = [f"{pad}{key}:"]
        for item in value:
            out += _list_item(item, depth + 1)
        return out
    if isinstance(value, str) and "\n" in value:
        block = [f"{pad}{_INDENT}{line}" if line else "" for line in value.rstrip("\n").split("\n")]
        return [f"{pad}{key}: |", *block]
    return [f"{pad}{key}: {_inline(value)}"]


def _list_item(item: BaseModel, depth: int) -> list[str]:
    """A list entry in its shortest form: catalog candidates become plain ids."""
    pad = _INDENT * depth
    if isinstance(item, Candidate):
        data = item.model_dump(exclude_none=True, mode="json")
        if set(data) == {"model"}:
            return [f"{pad}- {_inline(data['model'])}"]
    if isinstance(item, ScorerSpec):
        data = {"type": item.type, **({"name": item.name} if item.name else {}), **item.options}
    else:
        data = item.model_dump(exclude_none=True, exclude_defaults=False, mode="json")
    lines: list[str] = []
    for i, (key, value) in enumerate(data.items()):
        rendered = _key_value(key, value, depth + 1) if isinstance(value, dict) else None
        entry = rendered if rendered is not None else _key_value(key, value, 0)
        first, *rest = entry
        prefix = f"{pad}- " if i == 0 else f"{pad}  "
        lines.append(prefix + first.lstrip())
        lines += rest
    return lines


def _inline(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, str):
        plain = _PLAIN.match(value) and value.lower() not in _RESERVED
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_inline(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)
