"""`catalog update`: refresh prices and limits from a models.dev or OpenRouter document.

Two public documents list current prices and limits for many models:

- models.dev `api.json`: `{provider_id: {"id", "models": {model_id: {"cost": {"input", "output",
  "cache_read"}, "limit": {"context", "output"}}}}}`, prices in USD per million tokens;
- OpenRouter `GET /api/v1/models`: `{"data": [{"id": "openai/gpt-4o", "context_length",
  "pricing": {"prompt", "completion", "input_cache_read"}, "top_provider":
  {"max_completion_tokens"}}]}`, prices in USD per token, as strings.

A document's model is matched to a catalog entry by id, alias or API model name. Only an
authoritative offer changes a fact: for a closed model, its vendor's own listing (or OpenRouter,
which passes vendor list prices through); for an open-weight model, only a price from the host its
catalog `pricing.provider` names, and never its limits (a host's served context is not the
model's). Changed facts go to the overrides file with the document as source and today's date.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from llmpick import __version__
from llmpick.catalog._catalog import Catalog
from llmpick.catalog._errors import CatalogUpdateError
from llmpick.catalog._loader import load_catalog
from llmpick.catalog._overrides import FactOverride, overrides_path, read_overrides, write_overrides
from llmpick.catalog._schema import CatalogEntry

__all__ = [
    "FactChange",
    "UpdateResult",
    "VerifyResult",
    "read_update_document",
    "update_catalog",
    "verify_catalog",
]

DocumentFormat = Literal["models.dev", "openrouter"]
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# Vendor prefixes of OpenRouter ids (and models.dev providers) that differ from catalog slugs.
_VENDOR_ALIASES = {
    "x-ai": "xai",
    "mistralai": "mistral",
    "meta-llama": "meta",
    "amazon-bedrock": "amazon",
    "cohereforai": "cohere",
}


@dataclass(frozen=True)
class FactChange:
    """One fact whose value the document changes."""

    model_id: str
    section: str
    field: str
    old: float | int | None
    new: float | int | None

    @property
    def fact(self) -> str:
        """`section.field`, e.g. `pricing.input_usd_per_mtok`."""
        return f"{self.section}.{self.field}"


@dataclass(frozen=True)
class UpdateResult:
    """What `update_catalog` found and (unless a dry run) wrote."""

    source: str
    document_format: DocumentFormat
    models_in_document: int
    matched: list[str]
    changes: list[FactChange]
    overrides_file: Path
    written: bool


@dataclass(frozen=True)
class _Offer:
    """One model as a document lists it, in catalog units (USD per million tokens)."""

    provider: str
    model: str
    where: str
    prices: dict[str, float] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    # OpenRouter's own list: it passes each vendor's list price through, so it speaks for
    # closed models too (models.dev's "openrouter" provider section does not count as such).
    passes_vendor_prices: bool = False


# Hosts whose models.dev provider id differs from the name catalog `pricing.provider` uses.
_HOST_ALIASES = {"togetherai": "together", "fireworksai": "fireworks"}


def _compact(text: str) -> str:
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    return _HOST_ALIASES.get(compact, compact)


def _loose(text: str) -> str:
    """Spellings that differ only in separators match: claude-3.5-sonnet ~ claude-3-5-sonnet."""
    return re.sub(r"[._\s]+", "-", text.strip().lower())


def public_source(source: str) -> str:
    """The source as it may be stored and shown: no credentials or query string of a URL."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    if parts.scheme == "file":
        return source
    return str(Path(source).expanduser().resolve())


def read_update_document(source: str, *, timeout: float = 30.0) -> Any:
    """The parsed JSON at `source` (an http(s) URL, a file:// URL or a file path)."""
    shown = public_source(source)
    scheme = urllib.parse.urlsplit(source).scheme
    if scheme in ("http", "https", "file"):
        request = urllib.request.Request(
            source, headers={"User-Agent": f"llmpick/{__version__}", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read(_MAX_DOCUMENT_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise CatalogUpdateError(
                f"could not fetch {shown}: HTTP {exc.code} {exc.reason}"
            ) from None
        except urllib.error.URLError as exc:
            reason = getattr(exc.reason, "strerror", None) or exc.reason
            raise CatalogUpdateError(f"could not fetch {shown}: {reason}") from None
        except TimeoutError:
            raise CatalogUpdateError(
                f"could not fetch {shown}: no answer in {timeout:g} s"
            ) from None
        except OSError as exc:
            raise CatalogUpdateError(f"could not fetch {shown}: {exc}") from None
    else:
        try:
            raw = Path(source).expanduser().read_bytes()
        except OSError as exc:
            raise CatalogUpdateError(f"could not read {shown}: {exc.strerror or exc}") from None
    if len(raw) > _MAX_DOCUMENT_BYTES:
        raise CatalogUpdateError(f"{shown}: larger than {_MAX_DOCUMENT_BYTES >> 20} MiB")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogUpdateError(f"{shown}: not a JSON document ({exc})") from None


def _number(value: Any, where: str, shown: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CatalogUpdateError(f"{shown}: {where}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise CatalogUpdateError(f"{shown}: {where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise CatalogUpdateError(f"{shown}: {where}: {value!r} is not a number")
    return number


def _price(value: Any, where: str, shown: str, per_token: bool) -> float | None:
    number = _number(value, where, shown)
    if number is None or number < 0:  # OpenRouter marks variable prices (routers) with -1
        return None
    return float(round(number * 1_000_000 if per_token else number, 6))


def _limit(value: Any, where: str, shown: str) -> int | None:
    number = _number(value, where, shown)
    if number is None or number <= 0:  # 0 means "unknown" in models.dev
        return None
    return int(number)


def _mapping(value: Any, where: str, shown: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CatalogUpdateError(
            f"{shown}: {where}: expected an object, got {type(value).__name__}"
        )
    return value


def _detect(data: Any, shown: str) -> tuple[DocumentFormat, Any]:
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return "openrouter", data["data"]
    if isinstance(data, dict) and isinstance(data.get("providers"), dict):
        data = data["providers"]
    if isinstance(data, dict):
        # Providers are the objects with a "models" object; anything else at the top is ignored.
        providers = {
            key: value
            for key, value in data.items()
            if isinstance(value, dict) and isinstance(value.get("models"), dict)
        }
        if providers:
            return "models.dev", providers
    raise CatalogUpdateError(
        f'{shown}: not a models.dev api.json ({{provider: {{"models": {{...}}}}}}) '
        'nor an OpenRouter model list ({"data": [...]})'
    )


def _openrouter_offers(items: list[Any], shown: str) -> Iterator[_Offer]:
    for index, item in enumerate(items):
        where = f"data[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise CatalogUpdateError(f'{shown}: {where}: expected an object with an "id"')
        model = item["id"]
        if ":" in model:  # variants such as ":free" or ":extended" are not the list price
            continue
        pricing = _mapping(item.get("pricing"), f"{where}.pricing", shown)
        top = _mapping(item.get("top_provider"), f"{where}.top_provider", shown)
        prices = {
            "input_usd_per_mtok": _price(
                pricing.get("prompt"), f"{where}.pricing.prompt", shown, True
            ),
            "output_usd_per_mtok": _price(
                pricing.get("completion"), f"{where}.pricing.completion", shown, True
            ),
            "cached_input_usd_per_mtok": _price(
                pricing.get("input_cache_read"), f"{where}.pricing.input_cache_read", shown, True
            ),
        }
        limits = {
            "context_window_tokens": _limit(
                item.get("context_length", top.get("context_length")),
                f"{where}.context_length",
                shown,
            ),
            "max_output_tokens": _limit(
                top.get("max_completion_tokens"),
                f"{where}.top_provider.max_completion_tokens",
                shown,
            ),
        }
        yield _Offer(
            provider="openrouter",
            model=model,
            where=where,
            passes_vendor_prices=True,
            prices={k: v for k, v in prices.items() if v is not None},
            limits={k: v for k, v in limits.items() if v is not None},
        )


def _models_dev_offers(providers: dict[str, Any], shown: str) -> Iterator[_Offer]:
    for provider_key, provider in providers.items():
        provider_id = str(provider.get("id") or provider_key)
        for model_key, model in provider["models"].items():
            where = f"{provider_key}.models.{model_key}"
            model = _mapping(model, where, shown)
            cost = _mapping(model.get("cost"), f"{where}.cost", shown)
            limit = _mapping(model.get("limit"), f"{where}.limit", shown)
            prices = {
                "input_usd_per_mtok": _price(
                    cost.get("input"), f"{where}.cost.input", shown, False
                ),
                "output_usd_per_mtok": _price(
                    cost.get("output"), f"{where}.cost.output", shown, False
                ),
                "cached_input_usd_per_mtok": _price(
                    cost.get("cache_read"), f"{where}.cost.cache_read", shown, False
                ),
            }
            limits = {
                "context_window_tokens": _limit(
                    limit.get("context"), f"{where}.limit.context", shown
                ),
                "max_output_tokens": _limit(limit.get("output"), f"{where}.limit.output", shown),
            }
            yield _Offer(
                provider=provider_id,
                model=str(model.get("id") or model_key),
                where=where,
                prices={k: v for k, v in prices.items() if v is not None},
                limits={k: v for k, v in limits.items() if v is not None},
            )


class _Matcher:
    """Finds the catalog entry a document's model name refers to, and how surely."""

    def __init__(self, catalog: Catalog) -> None:
        self._names: dict[str, tuple[int, CatalogEntry]] = {}
        for entry in catalog:
            vendor = entry.id.split("/", 1)[0]
            exact = [
                entry.id,
                *([entry.api_model, f"{vendor}/{entry.api_model}"] if entry.api_model else []),
            ]
            for rank, names in ((0, exact), (1, entry.aliases)):
                for name in names:
                    self._add(name.lower(), rank, entry)
            for rank, names in ((2, exact), (3, entry.aliases)):
                for name in names:
                    self._add(_loose(name), rank, entry)

    def _add(self, key: str, rank: int, entry: CatalogEntry) -> None:
        if key not in self._names or self._names[key][0] > rank:
            self._names[key] = (rank, entry)

    def match(self, offer: _Offer) -> tuple[int, CatalogEntry] | None:
        name = offer.model.strip().lower()
        candidates = [name]
        if "/" in name:
            prefix, rest = name.split("/", 1)
            candidates.append(f"{_VENDOR_ALIASES.get(prefix, prefix)}/{rest}")
        else:
            provider = offer.provider.lower()
            candidates.append(f"{_VENDOR_ALIASES.get(provider, provider)}/{name}")
        best: tuple[int, CatalogEntry] | None = None
        for candidate in candidates:
            for key in (candidate, _loose(candidate)):
                found = self._names.get(key)
                if found is not None and (best is None or found[0] < best[0]):
                    best = found
        return best


def _authoritative_facts(entry: CatalogEntry, offer: _Offer) -> dict[str, dict[str, float | int]]:
    """The facts of `offer` allowed to change `entry`, by section."""
    provider = _compact(offer.provider)
    pricing_host = _compact(entry.pricing.provider) if entry.pricing else None
    if entry.open_weights:
        if pricing_host == provider:
            return {"pricing": dict(offer.prices)}
        return {}
    vendor_slug = entry.id.split("/", 1)[0]
    vendor_names = {_compact(vendor_slug), _compact(entry.vendor), pricing_host}
    offer_vendor = _compact(_VENDOR_ALIASES.get(offer.provider.lower(), offer.provider))
    if offer.passes_vendor_prices or provider in vendor_names or offer_vendor in vendor_names:
        return {"pricing": dict(offer.prices), "limits": dict(offer.limits)}
    return {}


def _differs(old: float | int | None, new: float | int) -> bool:
    return old is None or abs(float(old) - float(new)) > 1e-9


@dataclass(frozen=True)
class _Comparison:
    shown: str
    document_format: DocumentFormat
    models_in_document: int
    matched: list[str]
    changes: list[FactChange]
    compared: int  # facts present on both sides


def _compare(source: str, timeout: float, catalog: Catalog | None) -> _Comparison:
    """Every authoritative fact of `source` against the catalog: those that differ."""
    shown = public_source(source)
    document_format, body = _detect(read_update_document(source, timeout=timeout), shown)
    offers = list(
        _openrouter_offers(body, shown)
        if document_format == "openrouter"
        else _models_dev_offers(body, shown)
    )
    catalog = catalog if catalog is not None else load_catalog()
    matcher = _Matcher(catalog)
    chosen: dict[str, tuple[int, _Offer, dict[str, dict[str, float | int]]]] = {}
    for offer in offers:
        found = matcher.match(offer)
        if found is None:
            continue
        rank, entry = found
        facts = _authoritative_facts(entry, offer)
        if not any(facts.values()):
            continue
        if entry.id not in chosen or chosen[entry.id][0] > rank:
            chosen[entry.id] = (rank, offer, facts)

    changes: list[FactChange] = []
    compared = 0
    for model_id in sorted(chosen):
        entry = catalog.get(model_id)
        for section_name, values in chosen[model_id][2].items():
            section = getattr(entry, section_name)
            if section is None:
                continue
            for field_name, new in values.items():
                old = getattr(section, field_name)
                compared += old is not None
                if _differs(old, new):
                    changes.append(FactChange(model_id, section_name, field_name, old, new))
    return _Comparison(shown, document_format, len(offers), sorted(chosen), changes, compared)


def update_catalog(
    source: str,
    *,
    dry_run: bool = False,
    timeout: float = 30.0,
    today: dt.date | None = None,
    catalog: Catalog | None = None,
) -> UpdateResult:
    """Refresh prices and limits from `source` (URL or file) into the overrides file.

    Returns what changed (old -> new, per fact). With `dry_run`, nothing is written. Raises
    `CatalogUpdateError` when the document cannot be fetched or has an unexpected shape.
    """
    found = _compare(source, timeout, catalog)
    shown, changes = found.shown, found.changes
    path = overrides_path()
    written = False
    if changes and not dry_run:
        overrides = read_overrides(path)
        as_of = today or dt.date.today()
        for change in changes:
            fact = FactOverride(value=change.new, source=shown, as_of=as_of)
            overrides.set(change.model_id, change.section, change.field, fact)
        write_overrides(overrides, path)
        written = True
    return UpdateResult(
        source=shown,
        document_format=found.document_format,
        models_in_document=found.models_in_document,
        matched=found.matched,
        changes=changes,
        overrides_file=path,
        written=written,
    )


@dataclass(frozen=True)
class VerifyResult:
    """The catalog's facts re-checked against a local copy of a public source.

    `disagreements` are facts both sides state with different values (`old` is the catalog's,
    `new` the source's); a fact only the source states is listed too (`old` None: the catalog
    does not know it). `agreement` is the share of facts stated on both sides that agree."""

    source: str
    document_format: DocumentFormat
    models_in_document: int
    matched: list[str]
    compared: int
    disagreements: list[FactChange]

    @property
    def agreement(self) -> float | None:
        differing = sum(1 for d in self.disagreements if d.old is not None)
        return (self.compared - differing) / self.compared if self.compared else None


def verify_catalog(
    source: str, *, timeout: float = 30.0, catalog: Catalog | None = None
) -> VerifyResult:
    """Re-check every price, context window and output limit the catalog states against
    `source` (a models.dev `api.json` or OpenRouter model list: a file or URL), with the same
    matching and the same authority rules as `update_catalog`; nothing is written."""
    found = _compare(source, timeout, catalog)
    return VerifyResult(
        source=found.shown,
        document_format=found.document_format,
        models_in_document=found.models_in_document,
        matched=found.matched,
        compared=found.compared,
        disagreements=found.changes,
    )
