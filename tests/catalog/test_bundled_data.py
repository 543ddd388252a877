"""Every bundled catalog file: valid, placed where its id says, each section sourced and dated."""

from __future__ import annotations

import datetime as dt

import pytest
from ruamel.yaml import YAML

from llmpick.catalog import Catalog, load_catalog
from llmpick.catalog._loader import bundled_files, load_entry_file
from llmpick.catalog._schema import CatalogEntry, Sourced
from llmpick.catalog._yaml import parse_yaml

BUNDLED = bundled_files()


def _sections(entry: CatalogEntry) -> list[tuple[str, Sourced]]:
    named = [
        (name, getattr(entry, name))
        for name in ("about", "licence", "architecture", "limits", "pricing", "hosting", "openness")
    ]
    named += [(f"benchmarks[{i}]", bench) for i, bench in enumerate(entry.benchmarks)]
    return [(name, section) for name, section in named if section is not None]


@pytest.mark.parametrize(("relative", "item"), BUNDLED, ids=[rel for rel, _ in BUNDLED])
def test_bundled_file_is_valid_and_sourced(relative: str, item: object) -> None:
    text = item.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    expected_id = relative.rsplit(".", 1)[0]
    entry = load_entry_file(text, relative, expected_id)  # raises naming file, line, field
    assert entry.id == expected_id
    for name, section in _sections(entry):
        assert section.source.strip(), f"{relative}: {name} has an empty source"
        assert isinstance(section.as_of, dt.date), f"{relative}: {name} has no as_of date"
        assert section.as_of <= dt.date.today(), f"{relative}: {name}.as_of is in the future"
        assert not section.fact_sources, f"{relative}: fact_sources is for overrides only"


@pytest.mark.parametrize(("relative", "item"), BUNDLED, ids=[rel for rel, _ in BUNDLED])
def test_fast_loader_reads_files_as_yaml_1_2_does(relative: str, item: object) -> None:
    """The libyaml loader must see exactly what the authors' YAML 1.2 check (ruamel) saw."""
    text = item.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert parse_yaml(text, relative) == YAML(typ="safe").load(text)


def test_no_alias_names_two_models(bundled_catalog: Catalog) -> None:
    owners: dict[str, set[str]] = {}
    for entry in bundled_catalog:
        names = {entry.id, *entry.aliases, *([entry.api_model] if entry.api_model else [])}
        for name in {n.lower() for n in names}:
            owners.setdefault(name, set()).add(entry.id)
    clashes = {name: sorted(ids) for name, ids in owners.items() if len(ids) > 1}
    assert not clashes, f"names shared by several models: {clashes}"


def test_every_replacement_names_a_model_in_the_catalog() -> None:
    """A successor the catalog cannot describe would send users to a model llmpick cannot judge."""
    catalog = load_catalog()
    known_ids = {entry.id for entry in catalog}
    dangling = sorted(
        f"{entry.id} -> {entry.about.replacement}"
        for entry in catalog
        if entry.about.replacement is not None and entry.about.replacement not in known_ids
    )
    assert not dangling, (
        "about.replacement names ids missing from the catalog "
        f"(add their files or fix the reference): {dangling}"
    )
