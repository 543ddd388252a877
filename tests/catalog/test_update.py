"""`update_catalog` against a real HTTP server on 127.0.0.1 serving both document formats."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from llmpick.catalog import Catalog, CatalogUpdateError, load_catalog, update_catalog
from llmpick.catalog._overrides import read_overrides

from .conftest import FIXTURE_ENTRIES, FIXTURES, FileServer

TODAY = dt.date(2026, 11, 28)


def changes(result: object) -> list[tuple[str, str, object, object]]:
    return [(c.model_id, c.fact, c.old, c.new) for c in result.changes]  # type: ignore[attr-defined]


def test_models_dev_document(file_server: FileServer, fixture_catalog: Catalog) -> None:
    url = file_server.url("models_dev_api.json")
    result = update_catalog(url, catalog=fixture_catalog, today=TODAY)
    assert result.document_format == "models.dev"
    assert result.models_in_document == 7
    assert result.matched == [
        "anthropic/claude-sonnet-4-5",
        "meta/llama-3.1-8b-instruct",
        "openai/gpt-4o",
    ]
    # - gpt-4o: the openai provider's "gpt-4o" (the API name) wins over the dated alias and
    #   over models.dev's "openrouter" section, which is a reseller, not the vendor;
    # - claude: listed under its snapshot alias with unchanged facts, so nothing changes;
    # - llama: the price of the host the catalog names (togetherai = together), not groq's;
    #   and no limits, since a host's served context is not the model's.
    assert changes(result) == [
        ("meta/llama-3.1-8b-instruct", "pricing.input_usd_per_mtok", 0.18, 0.2),
        ("meta/llama-3.1-8b-instruct", "pricing.output_usd_per_mtok", 0.18, 0.2),
        ("openai/gpt-4o", "pricing.input_usd_per_mtok", 2.5, 2.25),
    ]
    assert result.written
    written = YAML(typ="safe").load(result.overrides_file.read_text())
    assert written["models"]["openai/gpt-4o"]["pricing"]["input_usd_per_mtok"] == {
        "value": 2.25,
        "source": url,
        "as_of": TODAY,
    }


def test_openrouter_document(file_server: FileServer, fixture_catalog: Catalog) -> None:
    result = update_catalog(
        file_server.url("openrouter_models.json"), catalog=fixture_catalog, today=TODAY
    )
    assert result.document_format == "openrouter"
    assert result.models_in_document == 4  # ":extended" variants are not list prices
    # claude-sonnet-4.5 matches claude-sonnet-4-5; llama's OpenRouter price is not its host's.
    assert result.matched == ["anthropic/claude-sonnet-4-5", "openai/gpt-4o"]
    assert changes(result) == [
        ("anthropic/claude-sonnet-4-5", "limits.context_window_tokens", 200000, 1000000),
    ]


def test_dry_run_writes_nothing(file_server: FileServer, fixture_catalog: Catalog) -> None:
    result = update_catalog(
        file_server.url("models_dev_api.json"), catalog=fixture_catalog, dry_run=True
    )
    assert len(result.changes) == 3
    assert not result.written
    assert not result.overrides_file.exists()


def test_updates_accumulate_and_reach_load_catalog(file_server: FileServer) -> None:
    first = update_catalog(
        file_server.url("models_dev_api.json"), today=TODAY, catalog=load_catalog([FIXTURE_ENTRIES])
    )
    before = load_catalog([FIXTURE_ENTRIES])
    assert before.get("gpt-4o").pricing.input_usd_per_mtok == 2.25  # type: ignore[union-attr]
    update_catalog(file_server.url("openrouter_models.json"), today=TODAY, catalog=before)
    after = load_catalog([FIXTURE_ENTRIES])
    # OpenRouter lists gpt-4o at 2.5 again, and claude with a 1M context.
    gpt = after.get("gpt-4o")
    assert gpt.pricing.input_usd_per_mtok == 2.5  # type: ignore[union-attr]
    source = gpt.pricing.source_of("input_usd_per_mtok")  # type: ignore[union-attr]
    assert source.source == file_server.url("openrouter_models.json")
    assert after.get("claude-sonnet-4-5").limits.context_window_tokens == 1_000_000
    saved = read_overrides(first.overrides_file)
    assert set(saved.models) >= {"openai/gpt-4o", "anthropic/claude-sonnet-4-5"}


def test_unchanged_document_changes_nothing(
    file_server: FileServer, fixture_catalog: Catalog
) -> None:
    document = json.loads((FIXTURES / "openrouter_models.json").read_text())
    document["data"] = [item for item in document["data"] if item["id"] == "openai/gpt-4o"]
    url = file_server.put("same.json", json.dumps(document))
    result = update_catalog(url, catalog=fixture_catalog)
    assert result.matched == ["openai/gpt-4o"]
    assert result.changes == []
    assert not result.written


def test_local_file_source(fixture_catalog: Catalog) -> None:
    path = FIXTURES / "models_dev_api.json"
    result = update_catalog(str(path), catalog=fixture_catalog, dry_run=True)
    assert result.source == str(path.resolve())
    assert len(result.changes) == 3


def test_url_credentials_never_stored(file_server: FileServer, fixture_catalog: Catalog) -> None:
    url = file_server.url("models_dev_api.json") + "?api_key=sk-secret-123"
    result = update_catalog(url, catalog=fixture_catalog, today=TODAY)
    assert "sk-secret" not in result.source
    assert "sk-secret" not in result.overrides_file.read_text()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", "not a JSON document"),
        ('{"models": []}', "not a models.dev api.json"),
        ("[1, 2, 3]", "nor an OpenRouter model list"),
        ('{"data": [{"name": "no id"}]}', r'data\[0\]: expected an object with an "id"'),
        (
            '{"data": [{"id": "openai/gpt-4o", "pricing": {"prompt": "cheap"}}]}',
            r"data\[0\]\.pricing\.prompt: 'cheap' is not a number",
        ),
        (
            '{"openai": {"id": "openai", "models": {"gpt-4o": {"cost": [1, 2]}}}}',
            r"openai\.models\.gpt-4o\.cost: expected an object, got list",
        ),
    ],
)
def test_malformed_documents_are_named(
    file_server: FileServer, fixture_catalog: Catalog, body: str, expected: str
) -> None:
    url = file_server.put("bad.json", body)
    with pytest.raises(CatalogUpdateError, match=expected) as caught:
        update_catalog(url, catalog=fixture_catalog)
    assert str(caught.value).startswith(url)


def test_http_error_is_one_line(file_server: FileServer, fixture_catalog: Catalog) -> None:
    url = file_server.url("missing.json")
    with pytest.raises(CatalogUpdateError, match=f"could not fetch {url}: HTTP 404"):
        update_catalog(url, catalog=fixture_catalog)


def test_connection_refused_is_one_line(fixture_catalog: Catalog) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api.json"
    with pytest.raises(CatalogUpdateError, match=f"could not fetch {url}: ") as caught:
        update_catalog(url, catalog=fixture_catalog, timeout=5)
    assert "\n" not in str(caught.value)


def test_missing_file(tmp_path: Path, fixture_catalog: Catalog) -> None:
    with pytest.raises(CatalogUpdateError, match=r"could not read .*nope\.json: No such file"):
        update_catalog(str(tmp_path / "nope.json"), catalog=fixture_catalog)


def test_silent_server_times_out(fixture_catalog: Catalog) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api.json"
        with pytest.raises(CatalogUpdateError, match=f"could not fetch {url}: "):
            update_catalog(url, catalog=fixture_catalog, timeout=0.2)
