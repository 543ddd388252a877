"""Scorers turn one response into a number, in a registry keyed by `type` so users add their own.

Each kind is a `Scorer` subclass with a nested pydantic `Options` model (the spec's extra keys);
an unknown kind or a bad option is reported with the kinds or fields that exist.

    from llmpick.evaluation import Scorer, Score, register_scorer

    class StartsWithYes(Scorer):
        kind = "starts_with_yes"
        def score(self, sample):
            return Score.from_bool(sample.output.strip().lower().startswith("yes"))

    register_scorer(StartsWithYes)

Scorers that read an answer out of free text cannot be gamed by listing the possibilities:

- Text the answer copies from the item's input (a prompt echoed back) never counts, so a model
  that repeats the ticket does not score with the words the ticket happens to contain.
- `choice`: an answer naming two or more different labels is ambiguous and scores 0, whichever
  label comes first; a label named several times is still one answer.
- `regex` with `group`: every match is read; matches that capture different texts make the
  answer ambiguous (0) unless `occurrence` says to take the first or the last.
- `numeric`: the last number counts (worked answers end with their result); `occurrence:
  only` demands a single distinct number, so "10, 11 or 12" scores 0.
- `contains`: containment, so an answer listing every option contains the right one: when the
  answer must be one of several labels, use `choice`. `whole_word` keeps "12" out of "120".

An ambiguous answer is recorded with a detail starting "ambiguous:" (`Score.is_ambiguous`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import math
import re
import string
import sys
import types
import typing
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llmpick._errors import LlmpickError
from llmpick._registry import LazyRegistry
from llmpick.evaluation._dataset import Item
from llmpick.providers import GenerateParams, Prompt

__all__ = [
    "AMBIGUOUS_PREFIX",
    "ModelCall",
    "Sample",
    "Score",
    "Scorer",
    "ScorerConfigError",
    "ScorerDescription",
    "ScorerEnv",
    "ScorerOption",
    "build_scorer",
    "describe_scorers",
    "normalize_text",
    "register_scorer",
    "scorer_class",
    "scorer_kinds",
]


class ScorerConfigError(LlmpickError):
    """A scorer in the spec has an unknown type or bad options."""


@dataclass(frozen=True, slots=True)
class Sample:
    """What a scorer sees: the item, the candidate's answer, who gave it and how fast
    (seconds end to end and to the first token, when known)."""

    item: Item
    output: str
    candidate: str = ""
    e2e_s: float | None = None
    ttft_s: float | None = None

    @property
    def expected(self) -> str | None:
        return self.item.expected


@dataclass(frozen=True, slots=True)
class Score:
    """One metric of one response. `value` is in 0..1 for pass/fail metrics."""

    value: float | None
    passed: bool | None = None
    detail: str | None = None
    cost_usd: float | None = None
    error: str | None = None

    @classmethod
    def from_bool(cls, passed: bool, detail: str | None = None) -> Score:
        return cls(1.0 if passed else 0.0, passed, detail)

    @classmethod
    def ambiguous(cls, what: str) -> Score:
        """A wrong score for an answer that gives several answers at once (`what` names them)."""
        return cls(0.0, False, f"{AMBIGUOUS_PREFIX} {what}")

    @property
    def is_ambiguous(self) -> bool:
        """The answer gave several answers at once and scored 0 for it."""
        return self.detail is not None and self.detail.startswith(AMBIGUOUS_PREFIX)


AMBIGUOUS_PREFIX = "ambiguous:"


@dataclass(frozen=True, slots=True)
class ModelCall:
    """A model call a scorer made (the judge), with its cost."""

    text: str
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None


class ScorerEnv(Protocol):
    """What the runner lends scorers that call models: cached, costed calls to any model."""

    async def call_model(
        self, model: str | Mapping[str, Any], prompt: Prompt, params: GenerateParams
    ) -> ModelCall: ...


class Scorer:
    """Base of every scorer. Override `score` (sync) or, for scorers that call out, `ascore`."""

    kind: ClassVar[str]
    is_async: ClassVar[bool] = False
    # A spec entry that uses this scorer, shown by `llmpick scorers list` (a test builds each).
    example: ClassVar[Mapping[str, Any]] = {}

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        self.metric = metric
        self.options = options if options is not None else self.Options()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} metric={self.metric!r}>"

    def score(self, sample: Sample) -> Score:
        raise NotImplementedError(f"{type(self).__name__} scores asynchronously; use ascore")

    async def ascore(self, sample: Sample, env: ScorerEnv | None = None) -> Score:
        return self.score(sample)


# Registry --------------------------------------------------------------------------------------

_REGISTRY: LazyRegistry[Scorer] = LazyRegistry(Scorer, "scorer type", ScorerConfigError)


def register_scorer(cls: type[Scorer], kind: str | None = None) -> type[Scorer]:
    """Add a scorer class under its `kind` (usable as a class decorator)."""
    _REGISTRY.register(kind or cls.kind, cls)
    return cls


def scorer_kinds() -> list[str]:
    return _REGISTRY.kinds()


def scorer_class(kind: str) -> type[Scorer]:
    return _REGISTRY.get(kind)


def build_scorer(
    kind: str,
    metric: str | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    base_dir: Path | None = None,
) -> Scorer:
    """A scorer from its spec entry (`type`, `name`, options), options validated."""
    cls = scorer_class(kind)
    values = dict(options or {})
    if base_dir is not None and "base_dir" in cls.Options.model_fields:
        values.setdefault("base_dir", str(base_dir))
    try:
        parsed = cls.Options.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(options)'}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        known = ", ".join(f for f in cls.Options.model_fields if f != "base_dir") or "none"
        raise ScorerConfigError(
            f"scorer {metric or kind!r} (type {kind}): {problems} (its options: {known})"
        ) from None
    return cls(metric or kind, parsed)


@dataclass(frozen=True, slots=True)
class ScorerOption:
    """One option of a scorer kind, as `llmpick scorers list` shows it."""

    name: str
    type: str
    required: bool
    default: Any
    description: str


@dataclass(frozen=True, slots=True)
class ScorerDescription:
    """What a scorer kind does, its options and a spec entry using it."""

    kind: str
    summary: str
    details: str
    options: tuple[ScorerOption, ...]
    example: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `--json`."""
        return {
            "kind": self.kind,
            "summary": self.summary,
            "details": self.details,
            "options": [
                {
                    "name": o.name,
                    "type": o.type,
                    "required": o.required,
                    "default": o.default,
                    "description": o.description,
                }
                for o in self.options
            ],
            "example": dict(self.example),
        }


# Options llmpick fills in itself; a user never writes them.
_INTERNAL_OPTIONS = frozenset({"base_dir"})


def describe_scorers() -> list[ScorerDescription]:
    """Every registered scorer kind (users' own included), read from its class: the docstring,
    the `Options` model and `example`, so the listing cannot drift from the code."""
    return [_describe(kind, scorer_class(kind)) for kind in scorer_kinds()]


def _describe(kind: str, cls: type[Scorer]) -> ScorerDescription:
    doc = inspect.cleandoc(cls.__doc__ or "")
    summary, _, details = doc.partition("\n\n")
    options = []
    for name, info in cls.Options.model_fields.items():
        if name in _INTERNAL_OPTIONS:
            continue
        required = info.is_required()
        default = None if required else info.get_default(call_default_factory=True)
        options.append(
            ScorerOption(
                name=info.alias or name,
                type=_type_name(info.annotation),
                required=required,
                default=default,
                description=info.description or "",
            )
        )
    example = dict(cls.example) or {"type": kind}
    return ScorerDescription(
        kind=kind,
        summary=" ".join(summary.split()),
        details=" ".join(details.split()),
        options=tuple(options),
        example=example,
    )


def _type_name(annotation: Any) -> str:
    """A short, readable type as a user writes it: `list[str] | None`, `'any' | 'all'`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]" if args else name
    return getattr(annotation, "__name__", str(annotation))


# Text helpers ----------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_text(text: str, *, remove_articles: bool = True) -> str:
    """Lower case, no punctuation, no articles, single spaces (the SQuAD normalisation)."""
    text = text.lower().translate(_PUNCTUATION)
    if remove_articles:
        text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def without_echo(output: str, source: str) -> str:
    """`output` with every verbatim copy of `source` (the item's input) cut out.

    Letter case and runs of whitespace are ignored when looking for the copy. A source of fewer
    than three words is left alone: a copy of it could be the answer itself (an input "billing?"
    answered "billing"), not an echo.
    """
    words = source.split()
    if len(words) < 3:
        return output
    # Most answers copy nothing: a plain containment test first keeps the regex (one per item,
    # more than `re` caches) off the hot path of a cached re-run.
    if " ".join(words).casefold() not in " ".join(output.split()).casefold():
        return output
    copied = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    return copied.sub(" ", output)


def _answer_text(sample: Sample) -> str:
    """What a scorer reads: the answer without any copy of the input it echoes."""
    return without_echo(sample.output, sample.item.input)


def _expected(sample: Sample, metric: str) -> str:
    if sample.item.expected is None:
        raise ScorerConfigError(
            f"scorer {metric!r} needs a reference answer, but the dataset has no "
            "`expected_field` value for this item; set dataset.expected_field"
        )
    return sample.item.expected


# Built-in scorers ------------------------------------------------------------------------------


class ExactMatch(Scorer):
    """The answer equals the reference (surrounding whitespace ignored unless `strip: false`)."""

    kind = "exact"
    example: ClassVar[Mapping[str, Any]] = {"type": "exact", "name": "accuracy"}

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        strip: bool = Field(True, description="Ignore leading/trailing whitespace.")

    options: Options

    def score(self, sample: Sample) -> Score:
        output, expected = sample.output, _expected(sample, self.metric)
        if self.options.strip:
            output, expected = output.strip(), expected.strip()
        return Score.from_bool(output == expected)


class NormalizedExactMatch(Scorer):
    """Equal after lower-casing and removing punctuation, articles and extra spaces."""

    kind = "normalized_exact"
    example: ClassVar[Mapping[str, Any]] = {
        "type": "normalized_exact",
        "name": "accuracy",
        "remove_articles": True,
    }

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        remove_articles: bool = Field(True, description="Drop a/an/the before comparing.")

    options: Options

    def score(self, sample: Sample) -> Score:
        keep = self.options.remove_articles
        return Score.from_bool(
            normalize_text(sample.output, remove_articles=keep)
            == normalize_text(_expected(sample, self.metric), remove_articles=keep)
        )


class Contains(Scorer):
    """The answer contains the reference (or `values`: any or all of them).

    Containment cannot tell an answer from a list of guesses: "billing, technical or sales"
    contains "billing". Where the answer must be one of several labels, use `choice`. Text the
    answer copies from the input does not count.
    """

    kind = "contains"
    example: ClassVar[Mapping[str, Any]] = {
        "type": "contains",
        "name": "mentions_refund",
        "values": ["refund"],
    }

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        values: list[Annotated[str, Field(min_length=1)]] | None = Field(
            None, min_length=1, description="Look for these instead of expected."
        )
        match: Literal["any", "all"] = Field("any", description="Need any or all of `values`.")
        case_sensitive: bool = Field(False, description="Match letter case exactly.")
        whole_word: bool = Field(
            False, description="Only as a whole word: '12' is not found in '120'."
        )

    options: Options

    def score(self, sample: Sample) -> Score:
        opts = self.options
        wanted = opts.values or [_expected(sample, self.metric)]
        text = _answer_text(sample)
        flags = 0 if opts.case_sensitive else re.IGNORECASE
        found = [w for w in wanted if _find(w, text, flags, opts.whole_word)]
        passed = len(found) == len(wanted) if opts.match == "all" else bool(found)
        missing = [w for w in wanted if w not in found]
        detail = None if passed else f"missing {', '.join(map(repr, missing))}"
        return Score.from_bool(passed, detail)


def _find(needle: str, text: str, flags: int, whole_word: bool) -> bool:
    if not whole_word:
        if flags & re.IGNORECASE:
            return needle.lower() in text.lower()
        return needle in text
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, flags) is not None


class RegexMatch(Scorer):
    """The answer matches `pattern`; with `group`, the captured text must equal the reference.

    With `group`, every match is read: when they capture different texts ("Answer: A ...
    Answer: B") the answer is ambiguous and scores 0, unless `occurrence` takes the first or the
    last match (a worked answer whose last line holds the result). Text the answer copies from
    the input does not count.
    """

    kind = "regex"
    example: ClassVar[Mapping[str, Any]] = {
        "type": "regex",
        "name": "accuracy",
        "pattern": r"answer:\s*([A-D])",
        "ignore_case": True,
        "group": 1,
    }

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        pattern: str = Field(description="Python regular expression.")
        ignore_case: bool = Field(False, description="Case-insensitive matching.")
        fullmatch: bool = Field(False, description="The whole (stripped) answer must match.")
        group: int | str | None = Field(
            None, description="Compare this capture group with the reference (normalised)."
        )
        occurrence: Literal["only", "first", "last"] = Field(
            "only",
            description="With `group`, which match counts: `only` (different captures are "
            "ambiguous, 0), `first` or `last`.",
        )

        # Checked here, not only when the scorer is built, so `llmpick validate` reports it.
        @field_validator("pattern")
        @classmethod
        def _compiles(cls, pattern: str) -> str:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex pattern: {exc}") from None
            return pattern

        @model_validator(mode="after")
        def _group_exists(self) -> RegexMatch.Options:
            if self.group is not None:
                regex = re.compile(self.pattern)
                if not _has_group(regex, self.group):
                    names = ", ".join(regex.groupindex) or "none"
                    raise ValueError(
                        f"the pattern has no group {self.group!r} "
                        f"({regex.groups} group(s); named: {names})"
                    )
            return self

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        opts = self.options
        try:
            self._regex = re.compile(
                opts.pattern,
                re.IGNORECASE if opts.ignore_case else 0,
            )
        except re.error as exc:
            raise ScorerConfigError(f"scorer {metric!r}: bad regex pattern: {exc}") from None

    def score(self, sample: Sample) -> Score:
        opts = self.options
        text = _answer_text(sample).strip()
        if opts.fullmatch:
            whole = self._regex.fullmatch(text)
            matches = [whole] if whole is not None else []
        else:
            matches = list(self._regex.finditer(text))
        if not matches:
            return Score.from_bool(False, "no match")
        if opts.group is None:
            return Score.from_bool(True, matches[0].group(0))
        captured = [m.group(opts.group) or "" for m in matches]
        if opts.occurrence == "first":
            chosen = captured[0]
        elif opts.occurrence == "last":
            chosen = captured[-1]
        else:
            distinct = list(dict.fromkeys(normalize_text(c) for c in captured))
            if len(distinct) > 1:
                return Score.ambiguous(", ".join(dict.fromkeys(captured)))
            chosen = captured[0]
        expected = _expected(sample, self.metric)
        return Score.from_bool(normalize_text(chosen) == normalize_text(expected), chosen)


def _has_group(regex: re.Pattern[str], group: int | str) -> bool:
    if isinstance(group, str):
        return group in regex.groupindex
    return 0 <= group <= regex.groups


class Choice(Scorer):
    """Classification: find which of `choices` the free-text answer names, compare to reference.

    Labels are found as whole words in any case; `aliases` maps a label to other words that mean
    it. The answer must name exactly one label: one that names two or more ("billing, technical
    or sales", "Billing. Not technical.", the instructions echoed back) is ambiguous and scores
    0, whichever comes first, because an answer listing the choices would otherwise be right on
    every item of the label it happens to name first. One label named several times is one
    answer. Labels inside a copy of the input (the ticket echoed back) do not count.
    """

    kind = "choice"
    example: ClassVar[Mapping[str, Any]] = {
        "type": "choice",
        "name": "accuracy",
        "choices": ["billing", "technical", "other"],
        "aliases": {"billing": ["invoice"]},
    }

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        choices: list[str] = Field(min_length=2, description="The allowed labels.")
        aliases: dict[str, list[str]] = Field(
            default_factory=dict, description="Other words for a label: {billing: [invoice]}."
        )
        case_sensitive: bool = Field(False, description="Match letter case exactly.")

        @model_validator(mode="after")
        def _aliases_name_choices(self) -> Choice.Options:
            unknown = sorted(set(self.aliases) - set(self.choices))
            if unknown:
                raise ValueError(
                    f"aliases for {', '.join(unknown)}, which are not among the choices "
                    f"({', '.join(self.choices)})"
                )
            return self

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        opts = self.options
        flags = 0 if opts.case_sensitive else re.IGNORECASE
        # One pattern, one named group per label; longer words are tried first so that an
        # alias "credit card" wins over a label "card" at the same place.
        groups = []
        for index, label in enumerate(opts.choices):
            words = [label, *opts.aliases.get(label, [])]
            alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            groups.append(f"(?P<c{index}>{alternatives})")
        self._pattern = re.compile(rf"(?<!\w)(?:{'|'.join(groups)})(?!\w)", flags)

    def labels_named(self, text: str) -> list[str]:
        """Every label the text names, each once, in the order they first appear."""
        named: dict[str, None] = {}
        for found in self._pattern.finditer(text):
            if found.lastgroup is not None:
                named[self.options.choices[int(found.lastgroup[1:])]] = None
        return list(named)

    def extract(self, text: str) -> str | None:
        """The one label the text names, or None when it names none or several."""
        named = self.labels_named(text)
        return named[0] if len(named) == 1 else None

    def score(self, sample: Sample) -> Score:
        named = self.labels_named(_answer_text(sample))
        if len(named) > 1:
            return Score.ambiguous("names " + ", ".join(named))
        if not named:
            return Score.from_bool(False, "no label found")
        label = named[0]
        expected = _expected(sample, self.metric).strip()
        same = (
            label == expected if self.options.case_sensitive else label.lower() == expected.lower()
        )
        return Score.from_bool(same, label)


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


def numbers_in(text: str) -> list[float]:
    """Every number written in `text`, in order (thousands separators allowed)."""
    found = []
    for written in _NUMBER.findall(text):
        try:
            found.append(float(written.replace(",", "")))
        except ValueError:
            continue
    return found


def last_number(text: str) -> float | None:
    """The last number written in `text` (thousands separators allowed), or None."""
    found = numbers_in(text)
    return found[-1] if found else None


class Numeric(Scorer):
    """A number in the answer equals the reference's within a tolerance.

    By default the last number counts: a worked answer ("3 + 9 = 12") ends with its result.
    `occurrence: only` demands one distinct number and scores an answer offering several
    ("10, 11 or 12") as ambiguous (0); `first` takes the first. Numbers inside a copy of the
    input (the question echoed back) do not count.
    """

    kind = "numeric"
    example: ClassVar[Mapping[str, Any]] = {"type": "numeric", "name": "accuracy", "rel_tol": 0.01}

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        abs_tol: float = Field(1e-6, ge=0, description="Absolute tolerance.")
        rel_tol: float = Field(0.0, ge=0, description="Relative tolerance (0.01 = 1%).")
        occurrence: Literal["last", "first", "only"] = Field(
            "last",
            description="Which number counts: `last` (worked answers end with the result), "
            "`first`, or `only` (several different numbers are ambiguous, 0).",
        )

    options: Options

    def score(self, sample: Sample) -> Score:
        want = last_number(_expected(sample, self.metric))
        if want is None:
            return Score(None, None, error=f"reference {sample.item.expected!r} has no number")
        found = numbers_in(_answer_text(sample))
        if not found:
            return Score.from_bool(False, "no number in the answer")
        opts = self.options
        if opts.occurrence == "only":
            distinct = list(dict.fromkeys(found))
            if len(distinct) > 1:
                return Score.ambiguous("numbers " + ", ".join(f"{n:g}" for n in distinct))
        got = found[0] if opts.occurrence == "first" else found[-1]
        close = math.isclose(got, want, rel_tol=opts.rel_tol, abs_tol=opts.abs_tol)
        return Score.from_bool(close, f"{got:g}")


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


def parse_json_answer(text: str, allow_code_fence: bool = True) -> Any:
    """Parse an answer as JSON (optionally inside a ``` fence); raises ValueError."""
    if allow_code_fence:
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1)
    return json.loads(text)


class JsonValid(Scorer):
    """The answer parses as JSON."""

    kind = "json_valid"
    example: ClassVar[Mapping[str, Any]] = {"type": "json_valid", "name": "valid_json"}

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        allow_code_fence: bool = Field(True, description="Accept JSON wrapped in ``` fences.")

    options: Options

    def score(self, sample: Sample) -> Score:
        try:
            parse_json_answer(sample.output, self.options.allow_code_fence)
        except ValueError as exc:
            return Score.from_bool(False, f"invalid JSON: {exc}")
        return Score.from_bool(True)


class JsonSchemaValid(Scorer):
    """The answer is JSON that satisfies a JSON Schema (`schema` inline or `schema_path`)."""

    kind = "json_schema"
    example: ClassVar[Mapping[str, Any]] = {
        "type": "json_schema",
        "name": "schema_ok",
        "schema": {"type": "object", "required": ["queue"]},
    }

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        schema_: dict[str, Any] | None = Field(None, alias="schema", description="The schema.")
        schema_path: str | None = Field(None, description="A JSON file with the schema.")
        allow_code_fence: bool = Field(True, description="Accept JSON wrapped in ``` fences.")
        base_dir: str | None = Field(None, description="(set by llmpick) the spec's folder.")

        @model_validator(mode="after")
        def _one_schema(self) -> JsonSchemaValid.Options:
            if (self.schema_ is None) == (self.schema_path is None):
                raise ValueError("give exactly one of schema, schema_path")
            return self

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        opts = self.options
        schema = opts.schema_
        if schema is None:
            path = Path(opts.base_dir or ".") / str(opts.schema_path)
            try:
                schema = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ScorerConfigError(f"scorer {metric!r}: cannot read {path}: {exc}") from None
        try:
            import jsonschema
        except ImportError:
            raise ScorerConfigError(
                f"scorer {metric!r} needs jsonschema: pip install 'llmpick[eval]'"
            ) from None
        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ScorerConfigError(f"scorer {metric!r}: invalid schema: {exc.message}") from None
        self._validator = validator_cls(schema)

    def score(self, sample: Sample) -> Score:
        try:
            value = parse_json_answer(sample.output, self.options.allow_code_fence)
        except ValueError as exc:
            return Score.from_bool(False, f"invalid JSON: {exc}")
        error = next(iter(self._validator.iter_errors(value)), None)
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "(root)"
            return Score.from_bool(False, f"{where}: {error.message}")
        return Score.from_bool(True)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 on normalised words."""
    predicted = normalize_text(prediction).split()
    wanted = normalize_text(reference).split()
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


class TokenF1(Scorer):
    """Word overlap with the reference (SQuAD F1, 0..1); `pass_threshold` adds pass/fail."""

    kind = "token_f1"
    example: ClassVar[Mapping[str, Any]] = {"type": "token_f1", "name": "f1", "pass_threshold": 0.6}

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        pass_threshold: float | None = Field(None, ge=0, le=1, description="F1 counted as pass.")

    options: Options

    def score(self, sample: Sample) -> Score:
        f1 = token_f1(sample.output, _expected(sample, self.metric))
        threshold = self.options.pass_threshold
        return Score(f1, None if threshold is None else f1 >= threshold)


class PythonFunction(Scorer):
    """A user function `module:function`, called as `fn(output, expected, item_fields)`.

    It may be async and may return a bool, a number, a `Score`, or a dict with `value` and
    optionally `passed` and `detail`. A module file next to the spec can be imported by name.
    """

    kind = "python"
    example: ClassVar[Mapping[str, Any]] = {
        "type": "python",
        "name": "polite",
        "function": "my_checks:is_polite",
    }
    is_async = True

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        function: str = Field(
            pattern=r"^[\w.]+:\w+$", description="module:function, e.g. my_checks:is_polite."
        )
        base_dir: str | None = Field(None, description="(set by llmpick) the spec's folder.")

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        self._fn = _import_function(self.options.function, self.options.base_dir, metric)

    async def ascore(self, sample: Sample, env: ScorerEnv | None = None) -> Score:
        result = self._fn(sample.output, sample.item.expected, dict(sample.item.fields))
        if inspect.isawaitable(result):
            result = await result
        return _coerce_score(result, self.metric)

    def score(self, sample: Sample) -> Score:
        result = self._fn(sample.output, sample.item.expected, dict(sample.item.fields))
        if inspect.isawaitable(result):
            raise ScorerConfigError(f"scorer {self.metric!r} is async; call ascore")
        return _coerce_score(result, self.metric)


def _import_function(target: str, base_dir: str | None, metric: str) -> Callable[..., Any]:
    module_name, _, name = target.partition(":")
    try:
        candidate = Path(base_dir or ".") / (module_name.replace(".", "/") + ".py")
        if base_dir and candidate.is_file():
            spec = importlib.util.spec_from_file_location(f"llmpick_user_{module_name}", candidate)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
        fn: Callable[..., Any] = getattr(module, name)
    except (ImportError, AttributeError) as exc:
        raise ScorerConfigError(f"scorer {metric!r}: cannot load {target}: {exc}") from None
    if not callable(fn):
        raise ScorerConfigError(f"scorer {metric!r}: {target} is not a function")
    return fn


def _coerce_score(result: Any, metric: str) -> Score:
    if isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score.from_bool(result)
    if isinstance(result, int | float):
        return Score(float(result))
    if isinstance(result, Mapping) and "value" in result:
        passed = result.get("passed")
        return Score(
            None if result["value"] is None else float(result["value"]),
            None if passed is None else bool(passed),
            result.get("detail"),
        )
    raise ScorerConfigError(
        f"scorer {metric!r} returned {type(result).__name__}; return a bool, a number, "
        "a Score or a dict with `value`"
    )


for _cls in (
    ExactMatch,
    NormalizedExactMatch,
    Contains,
    RegexMatch,
    Choice,
    Numeric,
    JsonValid,
    JsonSchemaValid,
    TokenF1,
    PythonFunction,
):
    register_scorer(_cls)
_REGISTRY.register("llm_judge", "llmpick.evaluation._judge:LlmJudge")

AsyncScoreFn = Callable[[Sample], Awaitable[Score]]
