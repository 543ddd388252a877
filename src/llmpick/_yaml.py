"""The YAML dialect of llmpick's files: libyaml's speed with YAML 1.2 booleans.

PyYAML's C loader is several times faster than a pure-Python parser. PyYAML follows YAML 1.1,
where `no`, `on` and `off` are booleans; catalog files and specs are written as YAML 1.2, so only
`true`/`false` are booleans here and `data_residency: [no]` stays the string "no". It lives
outside both packages so reading a spec does not import the catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "MAX_VALUES", "ShapeProblem", "Yaml12Loader", "shape_problem"]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL_TAG = "tag:yaml.org,2002:bool"


class Yaml12Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader whose booleans are YAML 1.2's: true/false only."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


# ------------------------------------------------------------------------- hostile documents

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists a config may have; ours need under ten levels."""

MAX_ALIAS_EXPANSION = 10_000
"""Most values aliases may add when expanded: a few shared blocks, never a "billion laughs"."""

MAX_VALUES = 5_000
"""Most values (scalars, lists, mappings) a config may hold; a spec has about 200. A document
with a problem is parsed again by ruamel to locate it, at about a millisecond per value on a
busy machine, so this also bounds how long a broken file takes to report."""

MAX_NUMBER_CHARS = 100
"""Longest plain number; Python refuses to read integers of over 4,300 digits, and no setting
needs more than a handful."""

_NUMBER_RE = re.compile(
    r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?0[xX][0-9a-fA-F_]+|[-+]?0[oObB]?[0-7_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+"
)


@dataclass(frozen=True)
class ShapeProblem:
    """Why a YAML document is refused before it is built, and where (1-based)."""

    line: int
    column: int
    message: str
    hint: str


def shape_problem(text: str) -> ShapeProblem | None:
    """The first reason to refuse `text` before building it, or None.

    A YAML file is data from whoever wrote it: anchors and aliases can make a 1 KB file expand
    to a billion values, deep nesting exhausts Python's recursion limit in every parser and
    validator after this one, a 5,000-digit integer is refused by `int()` itself, and tens of
    thousands of values keep the locating parser busy for minutes. This scans
    libyaml's event stream once (no document is built, no recursion) and stops at the first
    such thing. Syntax errors are left to the parser that reports them with positions.
    """
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    stack: list[list[Any]] = []  # [anchor, expanded size so far]
    literal = expanded = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            mark: Any = event.start_mark  # libyaml always sets it
            if literal > MAX_VALUES:
                return ShapeProblem(
                    mark.line + 1,
                    mark.column + 1,
                    f"more than {MAX_VALUES:,} values; a config is a page or two",
                    "keep data (test cases, long lists) in a file of its own",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append([event.anchor, 1])
                literal += 1
                expanded += 1
                if event.anchor:
                    open_anchors.add(event.anchor)
                if len(stack) > MAX_DEPTH:
                    return _too_deep(mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, size = stack.pop()
                if anchor:
                    sizes[anchor] = size
                    open_anchors.discard(anchor)
                if stack:
                    stack[-1][1] += size
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                literal += 1
                if isinstance(event, yaml.AliasEvent):
                    if event.anchor in open_anchors:
                        return ShapeProblem(
                            mark.line + 1,
                            mark.column + 1,
                            f"alias *{event.anchor} refers to a value that contains it",
                            "write the value out instead of a recursive alias",
                        )
                    size = sizes.get(event.anchor or "", 1)
                else:
                    size = 1
                    if event.anchor:
                        sizes[event.anchor] = 1
                    number = _long_number(event)
                    if number:
                        return ShapeProblem(
                            mark.line + 1,
                            mark.column + 1,
                            f"a number of {number} characters; at most {MAX_NUMBER_CHARS} are read",
                            "write a smaller number (scientific notation such as 1e9 is fine)",
                        )
                expanded += size
                if stack:
                    stack[-1][1] += size
                if expanded - literal > MAX_ALIAS_EXPANSION:
                    return ShapeProblem(
                        mark.line + 1,
                        mark.column + 1,
                        f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values",
                        "write shared settings out, or use fewer nested aliases",
                    )
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem) and exc.problem_mark is not None:
            # libyaml's own limit (1,000 levels) may stop it before the events reach ours.
            return _too_deep(exc.problem_mark)
        return None  # a syntax error: the parser that follows reports it with its position
    except yaml.YAMLError:
        return None
    return None


def _too_deep(mark: Any) -> ShapeProblem:
    return ShapeProblem(
        mark.line + 1,
        mark.column + 1,
        f"nested more than {MAX_DEPTH} levels deep",
        "a config needs only a few levels of mappings and lists",
    )


def _long_number(event: Any) -> int:
    """The length of a plain scalar that reads as a number and is too long, else 0."""
    value: str = event.value
    if (
        event.style not in (None, "")
        or len(value) <= MAX_NUMBER_CHARS
        or event.tag not in (None, "!")
    ):
        return 0
    return len(value) if _NUMBER_RE.fullmatch(value) else 0
