"""LLM-as-judge: another model grades each answer against a rubric; its own cost is recorded.

Any model llmpick can call may judge (a catalog id such as `openai/gpt-4o-mini`, or an endpoint
mapping). The verdict is read robustly: a JSON object (`{"score": 4}`, `{"verdict": "pass"}`),
`Score: 4/5`, `8/10`, or a final PASS / FAIL word, in that order of preference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, field_validator

from llmpick._templates import sandboxed_environment, template_problem
from llmpick.evaluation._scorers import Sample, Score, Scorer, ScorerConfigError, ScorerEnv
from llmpick.providers import GenerateParams, Message

__all__ = ["LlmJudge", "parse_verdict"]

_DEFAULT_PROMPT = """You are grading an AI assistant's answer.

Rubric:
{{ rubric }}

Task given to the assistant:
{{ input }}
{% if expected %}
Reference answer:
{{ expected }}
{% endif %}
Assistant's answer:
{{ output }}

{% if scale == "pass_fail" -%}
Reply with a JSON object only: {"reason": "<one sentence>", "verdict": "pass" or "fail"}
{%- else -%}
Reply with a JSON object only:
{"reason": "<one sentence>", "score": <integer {{ low }} to {{ high }}>}
{%- endif %}"""

_SCALES = {"pass_fail": (0, 1), "1-5": (1, 5), "1-10": (1, 10)}


class LlmJudge(Scorer):
    """Ask a judge model to grade the answer; value is the grade scaled to 0..1."""

    kind = "llm_judge"
    is_async = True
    example: ClassVar[Mapping[str, Any]] = {
        "type": "llm_judge",
        "name": "helpful",
        "judge": "openai/gpt-4o-mini",
        "rubric": "Answers the customer's question politely and correctly.",
        "scale": "1-5",
    }

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        judge: str | dict[str, Any] = Field(
            description="Judge model: a catalog id, or {base_url, model, api_key_env, protocol}."
        )
        rubric: str = Field(description="What a good answer does, in plain words.")
        scale: Literal["pass_fail", "1-5", "1-10"] = Field(
            "pass_fail", description="Verdict scale."
        )
        pass_threshold: float | None = Field(
            None, description="Grade counted as a pass (default: 4 on 1-5, 7 on 1-10)."
        )
        prompt: str | None = Field(
            None,
            description="Own Jinja2 judge prompt (variables: input, output, expected, rubric).",
        )
        max_tokens: int = Field(256, ge=1, description="Judge answer limit, tokens.")
        base_dir: str | None = Field(None, description="(set by llmpick) the spec's folder.")

        @field_validator("prompt")
        @classmethod
        def _safe_prompt(cls, prompt: str | None) -> str | None:
            problem = None if prompt is None else template_problem(prompt)
            if problem is not None:
                raise ValueError(f"judge prompt {problem}")
            return prompt

    options: Options

    def __init__(self, metric: str, options: BaseModel | None = None) -> None:
        super().__init__(metric, options)
        try:
            # Sandboxed: the judge prompt comes from the spec, like the prompt template.
            self._template = sandboxed_environment(strict=False).from_string(
                self.options.prompt or _DEFAULT_PROMPT
            )
        except jinja2.TemplateSyntaxError as exc:
            raise ScorerConfigError(f"scorer {metric!r}: judge prompt: {exc.message}") from None
        low, high = _SCALES[self.options.scale]
        default = {"pass_fail": 1.0, "1-5": 4.0, "1-10": 7.0}[self.options.scale]
        self._low, self._high = low, high
        self._threshold = (
            self.options.pass_threshold if self.options.pass_threshold is not None else default
        )

    async def ascore(self, sample: Sample, env: ScorerEnv | None = None) -> Score:
        if env is None:
            raise ScorerConfigError(f"scorer {self.metric!r} calls a model; run it in the runner")
        prompt = self._template.render(
            rubric=self.options.rubric,
            input=sample.item.input,
            expected=sample.item.expected,
            output=sample.output,
            scale=self.options.scale,
            low=self._low,
            high=self._high,
        )
        call = await env.call_model(
            self.options.judge,
            [Message("user", prompt)],
            GenerateParams(max_tokens=self.options.max_tokens, temperature=0.0),
        )
        grade = parse_verdict(call.text, self.options.scale)
        if grade is None:
            return Score(
                None,
                None,
                detail=call.text[:200],
                cost_usd=call.cost_usd,
                error="could not read a verdict from the judge's answer",
            )
        value = (grade - self._low) / (self._high - self._low)
        return Score(
            max(0.0, min(1.0, value)),
            grade >= self._threshold,
            detail=_reason(call.text) or call.text[:200],
            cost_usd=call.cost_usd,
        )

    def score(self, sample: Sample) -> Score:
        raise ScorerConfigError(f"scorer {self.metric!r} calls a model; use ascore")


_JSON_OBJECT = re.compile(r"\{[^{}]*\}", re.DOTALL)
_SCORE_WORD = re.compile(
    r"(?:score|rating|grade)\s*[:=]?\s*\**\s*(\d+(?:\.\d+)?)(?:\s*/\s*\d+)?", re.IGNORECASE
)
_FRACTION = re.compile(r"\b(\d+(?:\.\d+)?)\s*/\s*(?:5|10)\b")
_PASS_FAIL = re.compile(r"\b(pass|fail|passed|failed|correct|incorrect|yes|no)\b", re.IGNORECASE)
_TRUE_WORDS = {"pass", "passed", "correct", "yes", "true"}


def parse_verdict(text: str, scale: str) -> float | None:
    """The grade in the judge's answer (0/1 for pass_fail), or None if it gives none."""
    for raw in reversed(_JSON_OBJECT.findall(text)):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if isinstance(data, dict):
            found = _from_mapping(data, scale)
            if found is not None:
                return found
    if scale != "pass_fail":
        for pattern in (_SCORE_WORD, _FRACTION):
            matches = pattern.findall(text)
            if matches:
                return float(matches[-1])
        return None
    words = _PASS_FAIL.findall(text)
    if words:
        return 1.0 if words[-1].lower() in _TRUE_WORDS else 0.0
    return None


def _from_mapping(data: dict[str, Any], scale: str) -> float | None:
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in ("score", "rating", "grade"):
        value = lowered.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.split("/")[0])
            except ValueError:
                pass
    for key in ("verdict", "pass", "passed", "correct", "result"):
        value = lowered.get(key)
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, str) and value.strip():
            return 1.0 if value.strip().lower() in _TRUE_WORDS else 0.0
    return None


def _reason(text: str) -> str | None:
    for raw in _JSON_OBJECT.findall(text):
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("reason"), str):
            return str(data["reason"])[:300]
    return None
