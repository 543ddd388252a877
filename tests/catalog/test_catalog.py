"""Catalog queries (get, filter, search), loading from folders, errors and overrides."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from llmpick._errors import LlmpickError
from llmpick.catalog import (
    Catalog,
    CatalogFileError,
    UnknownModelError,
    load_catalog,
    overrides_path,
)
from llmpick.catalog._loader import load_entry_file

from .conftest import FIXTURE_ENTRIES


def ids(entries: object) -> list[str]:
    return [entry.id for entry in entries]  # type: ignore[attr-defined]


# --- get -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "openai/gpt-4o",
        "OpenAI/GPT-4o",
        "gpt-4o",  # api_model
        "gpt-4o-2024-08-06",  # alias
        " GPT-4O ",
    ],
)
def test_get_accepts_ids_aliases_and_any_case(fixture_catalog: Catalog, name: str) -> None:
    assert fixture_catalog.get(name).id == "openai/gpt-4o"


def test_get_accepts_hugging_face_repo_ids(fixture_catalog: Catalog) -> None:
    entry = fixture_catalog.get("meta-llama/Meta-Llama-3.1-8B-Instruct")
    assert entry.id == "meta/llama-3.1-8b-instruct"
    assert fixture_catalog.get("llama-3.1-8b-instruct").id == entry.id  # the id without vendor


def test_unknown_model_suggests_close_ids(fixture_catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as caught:
        fixture_catalog.get("gpt-4")
    error = caught.value
    assert isinstance(error, LlmpickError)
    assert error.suggestions[0] == "openai/gpt-4o"
    assert str(error).startswith("unknown model 'gpt-4'; did you mean 'openai/gpt-4o'")


def test_unknown_model_suggests_by_words(fixture_catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as caught:
        fixture_catalog.get("sonnet")
    assert caught.value.suggestions == ["anthropic/claude-sonnet-4-5"]


def test_unknown_model_without_any_resemblance(fixture_catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as caught:
        fixture_catalog.get("zzzzzz")
    assert caught.value.suggestions == []
    assert "llmpick catalog search" in str(caught.value)


def test_contains_and_len(fixture_catalog: Catalog) -> None:
    assert "gpt-4o" in fixture_catalog
    assert "gpt-5o" not in fixture_catalog
    assert len(fixture_catalog) == len(fixture_catalog.models) == 4
    assert fixture_catalog.ids == sorted(fixture_catalog.ids)


# --- filter ----------------------------------------------------------------------------------


def test_filter_open_and_closed(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.filter(open_weights=True)) == [
        "meta/llama-3.1-8b-instruct",
        "mistral/mistral-7b-instruct-v0.1",
    ]
    assert ids(fixture_catalog.filter(open_weights=False)) == [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4o",
    ]
    assert len(fixture_catalog.filter()) == 4


@pytest.mark.parametrize("vendor", ["meta", "Meta", "META"])
def test_filter_vendor_by_name_or_slug(fixture_catalog: Catalog, vendor: str) -> None:
    assert ids(fixture_catalog.filter(vendor=vendor)) == ["meta/llama-3.1-8b-instruct"]


def test_filter_vendor_by_display_name(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.filter(vendor="Mistral AI")) == ["mistral/mistral-7b-instruct-v0.1"]


def test_filter_commercial_keeps_conditional_licences(fixture_catalog: Catalog) -> None:
    commercial = ids(fixture_catalog.filter(commercial=True))
    assert "meta/llama-3.1-8b-instruct" in commercial  # Llama licence: conditional
    assert "mistral/mistral-7b-instruct-v0.1" not in commercial  # research licence


def test_filter_min_context_excludes_unknown(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.filter(min_context=131072)) == [
        "anthropic/claude-sonnet-4-5",
        "meta/llama-3.1-8b-instruct",
    ]
    assert "mistral/mistral-7b-instruct-v0.1" not in ids(fixture_catalog.filter(min_context=1))


def test_filter_modality_and_combined(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.filter(modality="image")) == [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4o",
    ]
    assert ids(fixture_catalog.filter(modality="image", vendor="openai", min_context=200_000)) == []


# --- search ----------------------------------------------------------------------------------


def test_search_ranks_exact_then_prefix_then_substring(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.search("gpt-4o")) == ["openai/gpt-4o"]
    assert ids(fixture_catalog.search("llama"))[0] == "meta/llama-3.1-8b-instruct"


def test_search_needs_every_word(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.search("claude sonnet")) == ["anthropic/claude-sonnet-4-5"]
    assert ids(fixture_catalog.search("claude llama")) == []
    assert fixture_catalog.search("   ") == []


def test_search_matches_vendor_and_aliases(fixture_catalog: Catalog) -> None:
    assert ids(fixture_catalog.search("anthropic")) == ["anthropic/claude-sonnet-4-5"]
    assert ids(fixture_catalog.search("20250929")) == ["anthropic/claude-sonnet-4-5"]
    # "instruct" appears in two ids; both are found, sorted by id at equal rank.
    assert ids(fixture_catalog.search("instruct")) == [
        "meta/llama-3.1-8b-instruct",
        "mistral/mistral-7b-instruct-v0.1",
    ]


# --- loading ---------------------------------------------------------------------------------


def test_load_catalog_is_cached(bundled_catalog: Catalog) -> None:
    assert load_catalog() is load_catalog()
    assert len(load_catalog()) == len(bundled_catalog)


def test_extra_dirs_add_and_replace_entries(tmp_path: Path) -> None:
    catalog = load_catalog([FIXTURE_ENTRIES])
    entry = catalog.get("mistral/mistral-7b-instruct-v0.1")
    assert entry.name.endswith("fixture)")  # the extra folder's entry wins over a bundled one
    assert catalog.get("anthropic/claude-sonnet-4-5").pricing.source.startswith("https://www.anth")  # type: ignore[union-attr]


def test_bad_file_error_names_file_line_and_field(tmp_path: Path) -> None:
    good = (FIXTURE_ENTRIES / "openai" / "gpt-4o.yaml").read_text()
    bad = good.replace("input_usd_per_mtok: 2.5", "input_usd_per_mtok: -2.5")
    bad_line = bad.splitlines().index("  input_usd_per_mtok: -2.5") + 1
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "gpt-4o.yaml").write_text(bad)
    with pytest.raises(CatalogFileError) as caught:
        load_catalog([folder])
    message = str(caught.value)
    assert str(folder / "gpt-4o.yaml") in message
    assert f"line {bad_line}: pricing.input_usd_per_mtok:" in message
    assert "greater than or equal to 0" in message


def test_unknown_field_and_missing_section_are_named() -> None:
    text = (FIXTURE_ENTRIES / "openai" / "gpt-4o.yaml").read_text()
    text = text.replace("  batch_discount: 0.5\n", "  batch_discont: 0.5\n")
    with pytest.raises(CatalogFileError, match=r"pricing\.batch_discont: unknown field"):
        load_entry_file(text, "x.yaml")
    no_about = text.split("about:")[0] + "licence:" + text.split("licence:")[1]
    with pytest.raises(CatalogFileError, match=r"about: Field required"):
        load_entry_file(no_about, "x.yaml")


def test_id_must_match_the_files_place() -> None:
    text = (FIXTURE_ENTRIES / "openai" / "gpt-4o.yaml").read_text()
    with pytest.raises(CatalogFileError, match="expected 'openai/gpt-4o-mini'"):
        load_entry_file(text, "openai/gpt-4o-mini.yaml", expected_id="openai/gpt-4o-mini")


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(CatalogFileError, match=r"x\.yaml: line 2: not valid YAML"):
        load_entry_file("id: a/b\nname: x: y\n", "x.yaml")


def test_yaml_1_1_booleans_stay_strings() -> None:
    text = (FIXTURE_ENTRIES / "openai" / "gpt-4o.yaml").read_text()
    hosting = "hosting:\n  data_residency: [no, on]\n  source: https://example.org/trust\n"
    text = text.replace("pricing:\n", hosting + "  as_of: 2026-11-28\npricing:\n")
    entry = load_entry_file(text, "x.yaml")
    assert entry.hosting is not None
    assert entry.hosting.data_residency == ["no", "on"]


# --- overrides -------------------------------------------------------------------------------


def test_overrides_replace_facts_and_keep_their_source(llmpick_home: Path) -> None:
    overrides_path().parent.mkdir(parents=True)
    overrides_path().write_text(
        "models:\n"
        "  openai/gpt-4o:\n"
        "    pricing:\n"
        "      input_usd_per_mtok: {value: 2.0, source: https://models.dev/api.json,"
        " as_of: 2026-12-01}\n"
        "    limits:\n"
        "      context_window_tokens: {value: 256000, source: https://openrouter.ai/api/v1/models,"
        " as_of: 2026-12-02}\n"
        "  nobody/removed-model:\n"
        "    pricing:\n"
        "      input_usd_per_mtok: {value: 1, source: https://models.dev/api.json,"
        " as_of: 2026-12-01}\n"
    )
    assert overrides_path() == llmpick_home / "catalog-overrides.yaml"
    entry = load_catalog([FIXTURE_ENTRIES]).get("gpt-4o")
    assert entry.pricing is not None
    assert entry.pricing.input_usd_per_mtok == 2.0
    assert entry.pricing.output_usd_per_mtok == 10.0  # untouched fact
    refreshed = entry.pricing.source_of("input_usd_per_mtok")
    assert (refreshed.source, refreshed.as_of) == (
        "https://models.dev/api.json",
        dt.date(2026, 12, 1),
    )
    kept = entry.pricing.source_of("output_usd_per_mtok")
    assert kept.source == "https://openai.com/api/pricing/"
    assert entry.limits.context_window_tokens == 256000
    assert entry.limits.source_of("context_window_tokens").as_of == dt.date(2026, 12, 2)


def test_malformed_overrides_file_is_named(llmpick_home: Path) -> None:
    overrides_path().parent.mkdir(parents=True)
    overrides_path().write_text(
        "models:\n  openai/gpt-4o:\n    pricing:\n      input_usd_per_mtok: {value: 2.0}\n"
    )
    with pytest.raises(CatalogFileError) as caught:
        load_catalog([FIXTURE_ENTRIES])
    message = str(caught.value)
    assert str(overrides_path()) in message
    assert "line 4:" in message and "source: Field required" in message


def test_override_of_a_curated_fact_is_refused(llmpick_home: Path) -> None:
    overrides_path().parent.mkdir(parents=True)
    overrides_path().write_text(
        "models:\n  openai/gpt-4o:\n    licence:\n"
        "      id: {value: 1, source: https://example.org/x, as_of: 2026-12-01}\n"
    )
    with pytest.raises(CatalogFileError, match="not an updatable section"):
        load_catalog()
