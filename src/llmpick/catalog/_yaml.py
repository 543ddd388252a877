"""YAML parsing for catalog files, with line numbers for errors.

The dialect (`llmpick._yaml.Yaml12Loader`) is libyaml with YAML 1.2 booleans: libyaml's speed
matters because every CLI command that needs the catalog loads ~135 files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from llmpick._yaml import Yaml12Loader
from llmpick.catalog._errors import CatalogFileError


def parse_yaml(text: str, path: Path | str) -> Any:
    """Parse one YAML document; a syntax error becomes a `CatalogFileError` with its line."""
    try:
        return yaml.load(text, Loader=Yaml12Loader)  # a safe loader (no Python objects)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogFileError(path, [f"{where}not valid YAML: {problem}"]) from None


def dump_yaml(data: Any) -> str:
    """Serialise plain data (dicts, lists, str, numbers, dates) as block-style YAML."""
    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)


def validation_problems(
    exc: ValidationError, text: str, prefix: Sequence[str | int] = ()
) -> list[str]:
    """Turn pydantic errors into `line N: field.path: message` strings.

    `prefix` is the location of the validated object inside the YAML document (for files where
    the model is nested, such as the overrides file).
    """
    try:
        root = yaml.compose(text, Loader=Yaml12Loader)
    except yaml.YAMLError:
        root = None
    problems = []
    for error in exc.errors():
        loc = [*prefix, *error["loc"]]
        line = _line_of(root, loc)
        field = ".".join(str(part) for part in error["loc"]) or "(document)"
        message = error["msg"]
        if error["type"] not in ("missing", "extra_forbidden") and "input" in error:
            message += f" (got {error['input']!r})"
        if error["type"] == "extra_forbidden":
            message = "unknown field (check its spelling against the schema)"
        where = f"line {line}: " if line is not None else ""
        problems.append(f"{where}{field}: {message}")
    return problems


def _line_of(node: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest node of `loc` that exists in the document."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
