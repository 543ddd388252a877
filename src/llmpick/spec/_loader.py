"""Load an `llmpick.yaml` and report every problem as `FILE:LINE:COLUMN: field.path: message`.

YAML is parsed with ruamel's round-trip loader because it keeps the line and column of every key
and value; pydantic then validates the whole document at once, and each of its errors is mapped
back to the position of the offending key or value. The user sees all problems in one go, each with
a hint (a close field name, the unit a number is in, the values a choice accepts).
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from llmpick._errors import LlmpickError
from llmpick._yaml import Yaml12Loader, shape_problem
from llmpick.spec._models import FieldError, Spec

MAX_SPEC_BYTES = 2 * 1024 * 1024
"""A spec is a page or two of YAML; anything bigger is a mistake (a dataset passed as the spec)."""

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, located in the file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning", "note"] = "error"

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"
        if self.severity != "error":
            text = (
                f"{self.file}:{self.line}:{self.column}: {self.path}: "
                f"{self.severity}: {self.message}"
            )
        return f"{text} (hint: {self.hint})" if self.hint else text


class SpecError(LlmpickError):
    """The spec file cannot be used; `problems` lists every reason, with positions."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(
            f"{len(errors)} problem(s) in {self.problems[0].file}" if errors else "spec problems"
        )


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with where it came from, so relative paths resolve against its folder."""

    spec: Spec
    path: Path
    warnings: list[Problem]

    @property
    def base_dir(self) -> Path:
        """The folder that relative paths in the spec are relative to."""
        return self.path.parent


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate a spec file; raise `SpecError` listing every problem found."""
    path = Path(path)
    name = str(path)
    spec, positions = _validate_text(_read_text(path, name), name)
    problems = list(_reference_problems(spec, name, positions))
    problems += _gguf_problems(spec, path, positions)
    if problems:
        raise SpecError(problems)
    warnings = list(_reference_warnings(spec, path, positions))
    return LoadedSpec(spec=spec, path=path, warnings=warnings)


def parse_spec_text(text: str, name: str = "<string>") -> Spec:
    """Validate spec YAML held in memory (used by `init` to check what it writes)."""
    return _validate_text(text, name)[0]


def _validate_text(text: str, name: str) -> tuple[Spec, _Positions]:
    """A valid spec goes through libyaml and pydantic once; only a spec with problems is
    parsed again by ruamel's slower round-trip parser, for the line and column of each."""
    _refuse_hostile_shape(text, name)
    fast = _fast_parse(text)
    if fast is not None and not any(True for _ in _non_finite_numbers(fast)):
        try:
            return Spec.model_validate(fast), _LazyPositions(text, name)
        except ValidationError:
            pass
    raw, positions = _parse_yaml(text, name)
    problems = sorted(
        (_non_finite_problem(name, loc, v, positions) for loc, v in _non_finite_numbers(raw)),
        key=lambda problem: (problem.line, problem.column),
    )
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        reported = {p.path for p in problems}
        problems += [
            problem
            for problem in (_problem_from_error(name, err, positions) for err in exc.errors())
            if problem.path not in reported
        ]
    if problems:
        raise SpecError(problems)
    return spec, positions


def _refuse_hostile_shape(text: str, name: str) -> None:
    """Alias bombs, deep nesting and huge numbers are refused before any parser builds them."""
    problem = shape_problem(text.removeprefix("\ufeff"))
    if problem is not None:
        raise SpecError(
            [Problem(name, problem.line, problem.column, "(yaml)", problem.message, problem.hint)]
        )


def _non_finite_numbers(data: Any) -> Iterator[tuple[Loc, float]]:
    """Every infinite or NaN number in the document with its location (`1e400`, `.inf`, `.nan`):
    no field means "infinity" by one, and NaN compares false with every limit."""
    pending: list[tuple[Loc, Any]] = [((), data)]
    while pending:  # no recursion: the shape check bounds the depth, but keep it flat anyway
        loc, value = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            yield loc, value
        elif isinstance(value, dict):
            pending.extend(((*loc, str(k)), v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend(((*loc, i), v) for i, v in enumerate(value))


def _non_finite_problem(name: str, loc: Loc, value: float, positions: _Positions) -> Problem:
    line, col, _ = positions.find(loc, want_key=False)
    return Problem(
        name,
        line,
        col,
        _dotted(loc),
        f"{value} is not a finite number",
        "write an ordinary number (or null where the field allows no limit)",
    )


class _NoDuplicateKeysLoader(Yaml12Loader):
    """libyaml with YAML 1.2 booleans that refuses duplicate keys, as the strict parser does."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        keys = [key.value for key, _ in node.value if hasattr(key, "value")]
        if len(keys) != len(set(map(str, keys))):
            raise yaml.YAMLError("duplicate key")
        return super().construct_mapping(node, deep=deep)


def _fast_parse(text: str) -> dict[str, Any] | None:
    """The document as plain data, or None when anything is unusual (the strict path reports)."""
    try:
        data = yaml.load(text.removeprefix("\ufeff"), Loader=_NoDuplicateKeysLoader)
    except Exception:
        return None
    return data if isinstance(data, dict) and all(isinstance(k, str) for k in data) else None


# ------------------------------------------------------------------------------- reading YAML


class _Positions:
    """Line/column lookup for a location inside the parsed document (1-based)."""

    def __init__(self, root: Any) -> None:
        self._root = root

    @property
    def root(self) -> Any:
        return self._root

    def find(self, loc: Loc, *, want_key: bool) -> tuple[int, int, int]:
        """Return (line, column, depth reached) for `loc`; stops at the deepest existing node."""
        node = self.root
        line, col = 1, 1
        depth = 0
        for i, part in enumerate(loc):
            last = i == len(loc) - 1
            if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
                key_line, key_col = node.lc.key(part)
                line, col = key_line + 1, key_col + 1
                child = node[part]
                if last and not want_key and not isinstance(child, CommentedMap | CommentedSeq):
                    val_line, val_col = node.lc.value(part)
                    line, col = val_line + 1, val_col + 1
                node = child
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                item_line, item_col = node.lc.item(part)
                line, col = item_line + 1, item_col + 1
                node = node[part]
            else:
                break
            depth = i + 1
        return line, col, depth


class _LazyPositions(_Positions):
    """Positions of a document that parsed cleanly: ruamel runs only if one is asked for."""

    def __init__(self, text: str, name: str) -> None:
        self._text = text
        self._name = name
        self._parsed: _Positions | None = None

    @property
    def root(self) -> Any:
        if self._parsed is None:
            self._parsed = _parse_yaml(self._text, self._name)[1]
        return self._parsed.root


def _read_text(path: Path, name: str) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SpecError(
            [Problem(name, 1, 1, "(file)", "file not found", "run `llmpick init -o FILE` first")]
        ) from None
    except OSError as exc:
        raise SpecError([Problem(name, 1, 1, "(file)", f"cannot read: {exc.strerror}")]) from None
    if path.is_dir():
        raise SpecError([Problem(name, 1, 1, "(file)", "is a folder, not a spec file")])
    if size > MAX_SPEC_BYTES:
        raise SpecError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "(file)",
                    f"file is {size / 1e6:.1f} MB; a spec is at most {MAX_SPEC_BYTES // 2**20} MiB",
                    "test cases belong in a separate file named by `dataset.path`",
                )
            ]
        )
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "(file)",
                    "the file is UTF-16 text (it starts with a UTF-16 byte-order mark)",
                    "save the file as UTF-8",
                )
            ]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            [
                Problem(
                    name,
                    line,
                    column,
                    "(file)",
                    f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                    "save the file as UTF-8",
                )
            ]
        ) from None
    return text


def _parse_yaml(text: str, name: str) -> tuple[dict[str, Any], _Positions]:
    if text.startswith("\ufeff"):
        text = text[1:]
    _refuse_hostile_shape(text, name)
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in str(exc.problem):
            mark = exc.context_mark  # an unclosed quote or bracket: point at where it opened
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (exc.problem or exc.context or "invalid YAML").strip()
        hint = "each key may appear only once" if "duplicate" in message else "check indentation"
        raise SpecError(
            [Problem(name, line, col, "(yaml)", f"YAML syntax: {message}", hint)]
        ) from None
    except YAMLError as exc:
        raise SpecError([Problem(name, 1, 1, "(yaml)", f"YAML syntax: {exc}")]) from None
    if doc is None:
        raise SpecError(
            [Problem(name, 1, 1, "(file)", "the file is empty", "run `llmpick init -o FILE`")]
        )
    if not isinstance(doc, CommentedMap):
        kind = type(doc).__name__.replace("Commented", "").replace("Seq", "list").lower()
        raise SpecError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "(root)",
                    f"expected a mapping of sections (needs:, constraints:, ...), got a {kind}",
                    "run `llmpick init -o FILE` to see the layout",
                )
            ]
        )
    return _plain(doc), _Positions(doc)


def _plain(node: Any) -> Any:
    """ruamel's round-trip types to plain Python, so validation sees ordinary values."""
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    for plain_type in (bool, int, float, str):
        if isinstance(node, plain_type):
            return plain_type(node)
    return node


# ---------------------------------------------------------------------------- error mapping


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def _problem_from_error(
    name: str, err: ErrorDetails, positions: _Positions, root: type[BaseModel] | None = None
) -> Problem:
    """A located problem for one pydantic error of `root` (the spec, or another config read
    with this loader's machinery, such as the gateway's)."""
    loc = _clean_loc(err["loc"])
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc = cause.loc
    kind = err["type"]
    line, col, _ = positions.find(loc, want_key=kind in ("extra_forbidden", "missing"))
    message = _message(err)
    hint = _hint(loc, err, root or Spec)
    return Problem(name, line, col, _dotted(loc), message, hint)


def _clean_loc(loc: tuple[int | str, ...]) -> Loc:
    """Drop pydantic's internal steps (union branches, validator names) from a location."""
    return tuple(
        p for p in loc if isinstance(p, int) or not re.match(r"^[a-z-]+\[|^(float|int|str)$", p)
    )


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required field is missing"
    msg = re.sub(r" for <class '[\w.]+'>", "", err["msg"])
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


_UNIT_WORDS = {
    "_ms": "milliseconds",
    "_s": "seconds",
    "_usd": "US dollars",
    "_tokens": "tokens",
    "_gb": "gigabytes",
}


def _unit_of(field: str) -> str | None:
    for suffix, word in _UNIT_WORDS.items():
        if field.endswith(suffix) or f"{suffix}_" in field:
            return word
    if field.startswith("usd_") or "_usd_" in field:
        return "US dollars"
    return None


def _hint(loc: Loc, err: ErrorDetails, root: type[BaseModel]) -> str | None:
    kind = err["type"]
    field = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1], root)
        if _SYNONYMS.get(field) in allowed:
            return f"did you mean '{_SYNONYMS[field]}'?"
        close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        return f"allowed keys here: {', '.join(allowed)}" if allowed else None
    if kind == "missing":
        return f"add `{field}:` here"
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type", "int_from_float"):
        unit = _unit_of(field)
        given = err.get("input")
        converted = _convert_units(field, given) if isinstance(given, str) else None
        if converted is not None:
            return f"write a plain number in {unit}: {field}: {converted:g}"
        if unit:
            return f"write a plain number in {unit} (the unit is in the field name)"
        return "write a plain number"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        options = re.findall(r"'([^']*)'", str(expected))
        given = err.get("input")
        if isinstance(given, str):
            close = difflib.get_close_matches(given.lower(), options, n=1, cutoff=0.5)
            if close:
                return f"did you mean '{close[0]}'?"
    if kind in ("bool_parsing", "bool_type"):
        return "write true or false"
    if kind in ("greater_than_equal", "greater_than") and field in _VOLUME_FIELDS:
        return "volumes and sizes cannot be negative"
    return None


_VOLUME_FIELDS = {"requests_per_day", "mean_input_tokens", "mean_output_tokens"}

# Short names people write for a field, which no spelling distance finds.
_SYNONYMS = {"lr": "learning_rate", "r": "rank", "steps": "max_steps", "lora_rank": "rank"}

_UNIT_SCALE: dict[str, dict[str, float]] = {
    "ms": {"ms": 1, "s": 1000, "sec": 1000, "m": 60_000, "min": 60_000},
    "s": {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60},
}


def _convert_units(field: str, given: str) -> float | None:
    """Turn '2s', '500 ms', '$1,200' or '10k' into the number the field expects, if obvious."""
    text = given.strip().lower().replace(",", "").replace("_", "")
    match = re.fullmatch(r"\$?\s*(-?\d+(?:\.\d+)?)\s*([a-z$]*)", text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    for suffix, scale in _UNIT_SCALE.items():
        if field.endswith(f"_{suffix}") and unit in scale:
            return value * scale[unit]
    multipliers = {"k": 1e3, "m": 1e6, "": 1.0, "usd": 1.0, "$": 1.0, "tokens": 1.0}
    if unit in multipliers and not field.endswith(("_ms", "_s")):
        return value * multipliers[unit]
    return None


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `X | None`, `list[X]` or `dict[str, X]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _unwrap_model(arg)
            if found is not None:
                return found
    return None


def _fields_at(loc: Loc, root: type[BaseModel]) -> list[str]:
    """Field names allowed at a location in `root`, for 'did you mean' hints."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        model = _unwrap_model(field.annotation) if field else None
    return list(model.model_fields) if model else []


# ------------------------------------------------------------------------ reference checks


def _reference_problems(spec: Spec, name: str, positions: _Positions) -> Iterator[Problem]:
    """Names that must exist elsewhere: catalog model ids and scorer kinds with their options."""
    from llmpick.catalog import load_catalog
    from llmpick.evaluation._scorers import scorer_class, scorer_kinds

    if not spec.candidates:
        line, col, _ = positions.find(("candidates",), want_key=True)
        yield Problem(
            name,
            line,
            col,
            "candidates",
            "no candidates: there is nothing to choose between",
            "list catalog ids (`llmpick catalog search TEXT` finds them), endpoints or GGUF files",
        )
    catalog = load_catalog()
    for i, candidate in enumerate(spec.candidates):
        for key in ("model", "catalog_id"):
            ref = getattr(candidate, key)
            if ref is not None and catalog.find(ref) is None:
                loc: Loc = ("candidates", i, key) if _has_key(positions, i) else ("candidates", i)
                line, col, _ = positions.find(loc, want_key=False)
                close = catalog.suggest(ref)
                hint = (
                    f"did you mean {', '.join(repr(c) for c in close)}?"
                    if close
                    else ("`llmpick catalog search TEXT` finds ids")
                )
                yield Problem(
                    name, line, col, _dotted(("candidates", i, key)), f"unknown model {ref!r}", hint
                )
    yield from _output_limit_problems(spec, catalog, name, positions)
    yield from _tune_base_problems(spec, catalog, name, positions)
    kinds = scorer_kinds()
    for i, scorer in enumerate(spec.scoring.scorers):
        base: Loc = ("scoring", "scorers", i)
        if scorer.type not in kinds:
            line, col, _ = positions.find((*base, "type"), want_key=False)
            close = difflib.get_close_matches(scorer.type, kinds, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(kinds)}"
            yield Problem(
                name,
                line,
                col,
                _dotted((*base, "type")),
                f"unknown scorer type {scorer.type!r}",
                hint,
            )
            continue
        options_model = scorer_class(scorer.type).Options
        try:
            options_model.model_validate(scorer.options)
        except ValidationError as exc:
            for err in exc.errors():
                problem = _problem_from_error(name, err, positions)
                loc = (*base, *_clean_loc(err["loc"]))
                line, col, _ = positions.find(loc, want_key=err["type"] == "extra_forbidden")
                known = [f for f in options_model.model_fields if f != "base_dir"]
                option_hint = problem.hint
                if err["type"] == "extra_forbidden":
                    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
                    option_hint = (
                        f"did you mean '{close[0]}'?" if close else f"options: {', '.join(known)}"
                    )
                yield Problem(name, line, col, _dotted(loc), problem.message, option_hint)


def _tune_base_problems(
    spec: Spec, catalog: Any, name: str, positions: _Positions
) -> Iterator[Problem]:
    """A tuned candidate's base must be a catalog model whose weights are here to train."""
    local = sorted(e.id for e in catalog if e.is_local)
    for i, candidate in enumerate(spec.candidates):
        if candidate.tune is None:
            continue
        base = candidate.tune.base
        loc: Loc = ("candidates", i, "tune", "base")
        entry = catalog.find(base)
        if entry is not None and entry.is_local:
            continue
        line, col, _ = positions.find(loc, want_key=False)
        if entry is None:
            close = catalog.suggest(base)
            message = f"unknown model {base!r}"
            hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else None
        else:
            message = f"{entry.id} has no weights here to train (an API or a served model)"
            hint = None
        yield Problem(
            name,
            line,
            col,
            _dotted(loc),
            message,
            hint or f"tune a model whose weights ship with llmpick: {', '.join(local)}",
        )


def _output_limit_problems(
    spec: Spec, catalog: Any, name: str, positions: _Positions
) -> Iterator[Problem]:
    """`dataset.max_output_tokens` beyond what a candidate can write (its catalog limit, or its
    whole context window): the vendor would refuse every request, after the run began."""
    if spec.dataset is None:
        return
    asked = spec.dataset.max_output_tokens
    limits: list[tuple[int, str, str]] = []
    for candidate in spec.candidates:
        entry = catalog.find(candidate.catalog_ref or "")
        if entry is None or entry.limits is None:
            continue
        if entry.limits.max_output_tokens is not None:
            limits.append((entry.limits.max_output_tokens, candidate.label, "writes at most"))
        elif entry.limits.context_window_tokens is not None:
            limits.append((entry.limits.context_window_tokens, candidate.label, "has a context of"))
    over = sorted(limit for limit in limits if asked > limit[0])
    if over:
        limit, label, what = over[0]
        line, col, _ = positions.find(("dataset", "max_output_tokens"), want_key=False)
        yield Problem(
            name,
            line,
            col,
            "dataset.max_output_tokens",
            f"{asked:,} tokens is more than {label} {what} {limit:,} tokens (catalog)",
            f"lower it to {limit} or less",
        )


def _has_key(positions: _Positions, index: int) -> bool:
    """Whether candidate `index` is written as a mapping (not the bare-id shorthand)."""
    root = positions.root
    items = root.get("candidates") if isinstance(root, CommentedMap) else None
    return (
        isinstance(items, CommentedSeq)
        and index < len(items)
        and isinstance(items[index], CommentedMap)
    )


_GGUF_MAGIC = b"GGUF"


def _gguf_problems(spec: Spec, path: Path, positions: _Positions) -> list[Problem]:
    """A `gguf.path` that exists but is not a GGUF file (renamed, truncated, an HTML page
    saved from a download link): llama.cpp would fail on it deep inside `eval`."""
    problems = []
    for i, candidate in enumerate(spec.candidates):
        if candidate.gguf is None or candidate.gguf.path is None:
            continue
        given = candidate.gguf.path
        resolved = given if given.is_absolute() else path.parent / given
        try:
            with resolved.open("rb") as handle:
                head = handle.read(len(_GGUF_MAGIC))
        except OSError:
            continue  # missing or unreadable: reported where it is loaded, with the reason
        if head != _GGUF_MAGIC:
            loc: Loc = ("candidates", i, "gguf", "path")
            line, col, _ = positions.find(loc, want_key=False)
            problems.append(
                Problem(
                    str(path),
                    line,
                    col,
                    _dotted(loc),
                    f"{given} is not a GGUF model file (it does not start with 'GGUF')",
                    "point at the .gguf file itself; re-download it if it was cut short",
                )
            )
    return problems


def _reference_warnings(spec: Spec, path: Path, positions: _Positions) -> Iterator[Problem]:
    """Things that are valid YAML but point at something missing; reported, not fatal here.
    Also the one place a spec runs code: a `python` scorer, pointed out as a note."""
    name = str(path)
    for i, scorer in enumerate(spec.scoring.scorers):
        if scorer.type == "python":
            loc: Loc = ("scoring", "scorers", i, "function")
            line, col, _ = positions.find(loc, want_key=False)
            target = scorer.options.get("function", "?")
            yield Problem(
                name,
                line,
                col,
                _dotted(loc),
                f"runs Python code at `eval`: {target} (a module beside the spec, or installed)",
                "review that code as you would any code you run; templates cannot run code",
                severity="note",
            )
    if spec.dataset is not None:
        for key in ("path", "train_path", "validation_path"):
            data_path = getattr(spec.dataset, key)
            if data_path is None:
                continue
            resolved = data_path if data_path.is_absolute() else path.parent / data_path
            if not resolved.exists():
                line, col, _ = positions.find(("dataset", key), want_key=False)
                yield Problem(
                    name,
                    line,
                    col,
                    f"dataset.{key}",
                    f"dataset file not found: {data_path} (relative to the spec's folder)",
                    "create it, or fix the path before `llmpick eval`",
                    severity="warning",
                )
        if spec.dataset.train_path is not None and not any(c.tune for c in spec.candidates):
            line, col, _ = positions.find(("dataset", "train_path"), want_key=True)
            yield Problem(
                name,
                line,
                col,
                "dataset.train_path",
                "no candidate is tuned, so the training examples are not used",
                "add a candidate with `tune: {base: local/smollm2-135m-instruct}`, or remove "
                "train_path",
                severity="warning",
            )
