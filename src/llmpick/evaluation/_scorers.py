"""Scorers turn one response into a number, in a registry keyed by `type` so users add their own.

Each kind is a `Scorer` subclass with a nested pydantic `Options` model (the spec's extra keys);
an unknown kind or a bad option is reported with the kinds or fields that exist.

    from llmpick.evaluation import Scorer, Score, register_scorer

    class StartsWithYes(Scorer):
        kind = "starts_with_yes"
        def score(self, sample):
            return Score.from_bool(sample.output.strip().lower().startswith("yes"))

    register_scorer(StartsWithYes)
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
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmpick._errors import LlmpickError
from llmpick._registry import LazyRegistry
from llmpick.evaluation._dataset import Item
from llmpick.providers import GenerateParams, Prompt

__all__ = [
    "ModelCall",
    "Sample",
    "Score",
    "Scorer",
    "ScorerConfigError",
    "ScorerEnv",
    "build_scorer",
    "normalize_text",
    "register_scorer",
    "scorer_class",
    "scorer_kinds",
]


class ScorerConfigError(LlmpickError):
    """A scorer in the spec has an unknown type or bad options."""


@dataclass(frozen=True, slots=True)
class Sample:
    """What a scorer sees: the item, the candidate's answer and who gave it."""

    item: Item
    output: str
    candidate: str = ""

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
            f"{'.'.join(map(str, e['loc'])) or '(options)'}: {e['msg']}" for e in exc.errors()
        )
        known = ", ".join(f for f in cls.Options.model_fields if f != "base_dir") or "none"
        raise ScorerConfigError(
            f"scorer {metric or kind!r} (type {kind}): {problems} (its options: {known})"
        ) from None
    return cls(metric or kind, parsed)


# Text helpers ----------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_text(text: str, *, remove_articles: bool = True) -> str:
    """Lower case, no punctuation, no articles, single spaces (the SQuAD normalisation)."""
    text = text.lower().translate(_PUNCTUATION)
    if remove_articles:
        text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


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
    """The answer contains the reference (or `values`: any or all of them)."""

    kind = "contains"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        values: list[str] | None = Field(None, description="Look for these instead of expected.")
        match: Literal["any", "all"] = Field("any", description="Need any or all of `values`.")
        case_sensitive: bool = Field(False, description="Match letter case exactly.")

    options: Options

    def score(self, sample: Sample) -> Score:
        opts = self.options
        wanted = opts.values or [_expected(sample, self.metric)]
        text = sample.output
        if not opts.case_sensitive:
            text, wanted = text.lower(), [w.lower() for w in wanted]
        hits = [w in text for w in wanted]
        passed = all(hits) if opts.match == "all" else any(hits)
        return Score.from_bool(passed)


class RegexMatch(Scorer):
    """The answer matches `pattern`; with `group`, the captured text must equal the reference."""

    kind = "regex"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        pattern: str = Field(description="Python regular expression.")
        ignore_case: bool = Field(False, description="Case-insensitive matching.")
        fullmatch: bool = Field(False, description="The whole (stripped) answer must match.")
        group: int | str | None = Field(
            None, description="Compare this capture group with the reference (normalised)."
        )

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
        text = sample.output.strip()
        match = self._regex.fullmatch(text) if opts.fullmatch else self._regex.search(text)
        if match is None:
            return Score.from_bool(False, "no match")
        if opts.group is None:
            return Score.from_bool(True, match.group(0))
        captured = match.group(opts.group) or ""
        expected = _expected(sample, self.metric)
        return Score.from_bool(normalize_text(captured) == normalize_text(expected), captured)


class Choice(Scorer):
    """Classification: find which of `choices` the free-text answer names, compare to reference.

    The label that appears first (as a whole word, any case) wins, so "Billing. Not technical."
    reads as billing. `aliases` maps a label to other words that mean it.
    """

    kind = "choice"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        choices: list[str] = Field(min_length=2, description="The allowed labels.")
        aliases: dict[str, list[str]] = Field(
            default_factory=dict, description="Other words for a label: {billing: [invoice]}."
        )
        case_sensitive: bool = Field(False, description="Match letter case exactly.")

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        opts = self.options
        flags = 0 if opts.case_sensitive else re.IGNORECASE
        # One pattern, one named group per label: the leftmost match is the label named first
        # (on a tie the label listed first wins).
        groups = []
        for index, label in enumerate(opts.choices):
            words = [label, *opts.aliases.get(label, [])]
            alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            groups.append(f"(?P<c{index}>{alternatives})")
        self._pattern = re.compile(rf"(?<!\w)(?:{'|'.join(groups)})(?!\w)", flags)

    def extract(self, text: str) -> str | None:
        """The label the text names first, or None."""
        found = self._pattern.search(text)
        if found is None or found.lastgroup is None:
            return None
        return self.options.choices[int(found.lastgroup[1:])]

    def score(self, sample: Sample) -> Score:
        label = self.extract(sample.output)
        expected = _expected(sample, self.metric).strip()
        same = label is not None and (
            label == expected if self.options.case_sensitive else label.lower() == expected.lower()
        )
        return Score.from_bool(same, label if label is not None else "no label found")


_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")


def last_number(text: str) -> float | None:
    """The last number written in `text` (thousands separators allowed), or None."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


class Numeric(Scorer):
    """The last number in the answer equals the reference's within a tolerance."""

    kind = "numeric"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        abs_tol: float = Field(1e-6, ge=0, description="Absolute tolerance.")
        rel_tol: float = Field(0.0, ge=0, description="Relative tolerance (0.01 = 1%).")

    options: Options

    def score(self, sample: Sample) -> Score:
        got = last_number(sample.output)
        want = last_number(_expected(sample, self.metric))
        if want is None:
            return Score(None, None, error=f"reference {sample.item.expected!r} has no number")
        if got is None:
            return Score.from_bool(False, "no number in the answer")
        opts = self.options
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

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        schema_: dict[str, Any] | None = Field(None, alias="schema", description="The schema.")
        schema_path: str | None = Field(None, description="A JSON file with the schema.")
        allow_code_fence: bool = Field(True, description="Accept JSON wrapped in ``` fences.")
        base_dir: str | None = Field(None, description="(set by llmpick) the spec's folder.")

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        opts = self.options
        schema = opts.schema_
        if (schema is None) == (opts.schema_path is None):
            raise ScorerConfigError(f"scorer {metric!r}: give exactly one of schema, schema_path")
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
