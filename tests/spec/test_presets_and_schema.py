"""Presets, `init`, `schema` and the CLI surface of the spec commands."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from llmpick import __version__
from llmpick.cli import app
from llmpick.spec import PRESETS, json_schema, json_schema_text, parse_spec_text, preset_spec
from llmpick.spec import render_spec as render

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_inits_validates_and_matches_the_schema(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.yaml"
    result = runner.invoke(app, ["init", "--preset", name, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# yaml-language-server: $schema=llmpick.schema.json\n")
    assert (tmp_path / "llmpick.schema.json").exists()

    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0, result.output

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(YAML(typ="safe").load(text), schema)


def test_presets_lean_both_ways() -> None:
    leanings = [p.leaning for p in PRESETS.values()]
    assert leanings.count("open") == 4 and leanings.count("closed") == 4


def test_render_round_trips() -> None:
    for name in PRESETS:
        spec = preset_spec(name)
        assert parse_spec_text(render(spec)) == spec


def test_schema_rejects_what_the_loader_rejects() -> None:
    schema = json_schema()
    bad = {"needs": {"latency": {"ttft_p95_s": 3}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_committed_schema_is_current() -> None:
    committed = (REPO / "schema" / "llmpick.schema.json").read_text()
    assert committed == json_schema_text(), "run: llmpick schema -o schema/llmpick.schema.json"


def test_schema_command_prints_json() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "llmpick decision spec"


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "llmpick.yaml"
    out.write_text("keep me")
    result = runner.invoke(app, ["init", "-o", str(out)])
    assert result.exit_code == 2
    assert out.read_text() == "keep me"
    assert runner.invoke(app, ["init", "-o", str(out), "--force"]).exit_code == 0


def test_init_unknown_preset_lists_the_valid_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--preset", "cheap", "-o", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "low-cost-experiment" in result.output
    assert not (tmp_path / "x.yaml").exists()


def test_list_presets() -> None:
    result = runner.invoke(app, ["init", "--list-presets"])
    assert result.exit_code == 0
    for name in PRESETS:
        assert name in result.stdout


def test_quickstart_spec_is_valid() -> None:
    result = runner.invoke(
        app, ["validate", str(REPO / "examples" / "quickstart" / "llmpick.yaml")]
    )
    assert result.exit_code == 0, result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def _commands(typer_app: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import typer.main

    group = typer.main.get_command(typer_app)  # type: ignore[arg-type]
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        else:
            found.append(path)

    walk(group, prefix)
    return found


def test_every_command_has_help_with_an_example() -> None:
    commands = _commands(app)
    assert ("validate",) in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.stdout, f"`llmpick {' '.join(path)} --help` has no example"


def test_preset_and_quickstart_candidates_are_served_catalog_models() -> None:
    from llmpick.catalog import load_catalog
    from llmpick.spec import load_spec

    catalog = load_catalog()
    specs = [preset_spec(name) for name in PRESETS]
    specs.append(load_spec(REPO / "examples" / "quickstart" / "llmpick.yaml").spec)
    for spec in specs:
        for candidate in spec.candidates:
            ref = candidate.catalog_ref  # a tuned candidate's is its base's
            assert ref is not None
            entry = catalog.get(ref)
            assert entry.about.status != "retired", (spec.name, entry.id)
