"""A corpus of broken specs: each must exit 2 and name the exact line, column and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.cli import app

VALID = """\
version: 1
name: triage
needs:
  quality:
    metric: accuracy
    min_value: 0.8
  latency:
    ttft_p95_ms: 1500
    e2e_p95_ms: 4000
  volume:
    requests_per_day: 40000
    mean_input_tokens: 350
constraints:
  data:
    may_leave_premises: true
  infrastructure:
    hardware: [1xL4]
candidates:
  - openai/gpt-4o-mini
  - name: our-vllm
    endpoint:
      base_url: http://127.0.0.1:8000/v1
      model: llama
dataset:
  path: cases.jsonl
  template: "{{ input }}"
scoring:
  scorers:
    - type: choice
      name: accuracy
      choices: [a, b]
  primary: accuracy
"""


@dataclass(frozen=True)
class Case:
    """A broken spec and the first problem line it must produce (line, column, field)."""

    id: str
    text: str | bytes
    line: int
    column: int
    path: str
    message: str


def _edit(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


CASES = [
    Case("empty-file", "", 1, 1, "(file)", "the file is empty"),
    Case("only-comments", "# nothing here\n", 1, 1, "(file)", "the file is empty"),
    Case("top-level-list", "- a\n- b\n", 1, 1, "(root)", "expected a mapping"),
    Case("top-level-scalar", "hello\n", 1, 1, "(root)", "expected a mapping"),
    Case(
        "bad-indentation",
        _edit("    min_value: 0.8", "   min_value: 0.8"),
        6,
        4,
        "(yaml)",
        "YAML syntax",
    ),
    Case(
        "unclosed-quote",
        _edit('template: "{{ input }}"', 'template: "{{ input }}'),
        26,
        13,
        "(yaml)",
        "YAML syntax",
    ),
    Case("tab-indent", _edit("  quality:\n", "\tquality:\n"), 4, 1, "(yaml)", "YAML syntax"),
    Case(
        "duplicate-key",
        _edit("name: triage\n", "name: triage\nname: again\n"),
        3,
        1,
        "(yaml)",
        "duplicate",
    ),
    Case(
        "non-utf8",
        VALID.encode().replace(b"name: triage", b"name: tri\xe9ge"),
        2,
        10,
        "(file)",
        "not UTF-8",
    ),
    Case(
        "unknown-top-key",
        _edit("name: triage\n", "name: triage\nneeeds: {}\n"),
        3,
        1,
        "neeeds",
        "unknown key",
    ),
    Case(
        "unknown-nested-key",
        _edit("ttft_p95_ms: 1500", "ttft_p95: 1500"),
        8,
        5,
        "needs.latency.ttft_p95",
        "unknown key",
    ),
    Case(
        "wrong-unit-key",
        _edit("ttft_p95_ms: 1500", "ttft_p95_s: 1.5"),
        8,
        5,
        "needs.latency.ttft_p95_s",
        "unknown key",
    ),
    Case(
        "unit-in-value",
        _edit("ttft_p95_ms: 1500", "ttft_p95_ms: 1.5s"),
        8,
        18,
        "needs.latency.ttft_p95_ms",
        "valid number",
    ),
    Case(
        "string-for-number",
        _edit("requests_per_day: 40000", "requests_per_day: lots"),
        11,
        23,
        "needs.volume.requests_per_day",
        "valid number",
    ),
    Case(
        "negative-volume",
        _edit("requests_per_day: 40000", "requests_per_day: -5"),
        11,
        23,
        "needs.volume.requests_per_day",
        "greater than or equal to 0",
    ),
    Case(
        "negative-tokens",
        _edit("mean_input_tokens: 350", "mean_input_tokens: -1"),
        12,
        24,
        "needs.volume.mean_input_tokens",
        "greater than or equal to 0",
    ),
    Case(
        "quality-above-one",
        _edit("min_value: 0.8", "min_value: 80"),
        6,
        16,
        "needs.quality.min_value",
        "less than or equal to 1",
    ),
    Case(
        "impossible-slo",
        _edit("e2e_p95_ms: 4000", "e2e_p95_ms: 500"),
        9,
        17,
        "needs.latency.e2e_p95_ms",
        "below ttft_p95_ms",
    ),
    Case(
        "zero-ttft",
        _edit("ttft_p95_ms: 1500", "ttft_p95_ms: 0"),
        8,
        18,
        "needs.latency.ttft_p95_ms",
        "greater than 0",
    ),
    Case(
        "bool-wrong",
        _edit("may_leave_premises: true", "may_leave_premises: maybe"),
        15,
        25,
        "constraints.data.may_leave_premises",
        "valid boolean",
    ),
    Case(
        "bad-hardware",
        _edit("hardware: [1xL4]", "hardware: [two L4 cards]"),
        17,
        16,
        "constraints.infrastructure.hardware[0]",
        "unknown device",
    ),
    Case(
        "bad-compliance",
        _edit("constraints:\n", "constraints:\n  compliance: [hipa]\n"),
        14,
        16,
        "constraints.compliance[0]",
        "should be",
    ),
    Case(
        "candidate-two-kinds",
        _edit(
            "  - openai/gpt-4o-mini\n", "  - model: openai/gpt-4o-mini\n    gguf: {path: a.gguf}\n"
        ),
        19,
        5,
        "candidates[0]",
        "exactly one of",
    ),
    Case(
        "endpoint-without-name",
        _edit("  - name: our-vllm\n    endpoint:", "  - endpoint:"),
        20,
        5,
        "candidates[1]",
        "need a `name`",
    ),
    Case(
        "endpoint-bad-url",
        _edit("base_url: http://127.0.0.1:8000/v1", "base_url: localhost:8000"),
        22,
        17,
        "candidates[1].endpoint.base_url",
        "http://",
    ),
    Case(
        "endpoint-missing-model",
        _edit("      model: llama\n", ""),
        21,
        5,
        "candidates[1].endpoint.model",
        "required field is missing",
    ),
    Case(
        "dataset-missing-path",
        _edit("  path: cases.jsonl\n", ""),
        24,
        1,
        "dataset.path",
        "required field is missing",
    ),
    Case(
        "dataset-bad-mode",
        _edit('template: "{{ input }}"', 'template: "{{ input }}"\n  mode: chats'),
        27,
        9,
        "dataset.mode",
        "'chat' or 'completion'",
    ),
    Case(
        "dataset-bad-template",
        _edit('template: "{{ input }}"', 'template: "{{ input }"'),
        26,
        13,
        "dataset.template",
        "template line 1",
    ),
    Case(
        "dataset-wrong-type",
        _edit("  path: cases.jsonl\n", "  path: [a, b]\n"),
        25,
        3,
        "dataset.path",
        "valid path",
    ),
    Case(
        "primary-not-a-scorer",
        _edit("primary: accuracy", "primary: f1"),
        32,
        12,
        "scoring.primary",
        "not a scorer's metric",
    ),
    Case(
        "quality-metric-unscored",
        _edit("metric: accuracy", "metric: f1"),
        5,
        13,
        "needs.quality.metric",
        "'f1' is not produced by any scorer",
    ),
    Case(
        "no-scorers",
        _edit("    - type: choice\n      name: accuracy\n      choices: [a, b]\n", "    []\n"),
        28,
        3,
        "scoring.scorers",
        "at least 1 item",
    ),
    Case("version-wrong", _edit("version: 1", "version: 2"), 1, 10, "version", "should be 1"),
    Case(
        "section-not-mapping",
        _edit(
            "constraints:\n  data:\n    may_leave_premises: true\n",
            "constraints: strict\nfoo:\n  data:\n    x: 1\n",
        ),
        13,
        14,
        "constraints",
        "valid dictionary",
    ),
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_spec_is_located(case: Case, tmp_path: Path, runner: CliRunner) -> None:
    spec = tmp_path / "llmpick.yaml"
    if isinstance(case.text, bytes):
        spec.write_bytes(case.text)
    else:
        spec.write_text(case.text, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(spec))]
    assert lines, result.output
    expected = f"{spec}:{case.line}:{case.column}: {case.path}: "
    matching = [line for line in lines if line.startswith(expected)]
    assert matching, f"wanted a line starting {expected!r}, got:\n" + "\n".join(lines)
    assert case.message.lower() in matching[0].lower(), matching[0]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


def test_every_problem_is_reported_at_once(tmp_path: Path, runner: CliRunner) -> None:
    text = (
        VALID.replace("ttft_p95_ms: 1500", "ttft_p95: 1500")
        .replace("requests_per_day: 40000", "requests_per_day: -1")
        .replace("base_url: http://127.0.0.1:8000/v1", "base_url: nowhere")
        .replace("may_leave_premises: true", "may_leave_premises: perhaps")
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2
    fields = {
        line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith(str(spec))
    }
    assert fields == {
        "needs.latency.ttft_p95",
        "needs.volume.requests_per_day",
        "candidates[1].endpoint.base_url",
        "constraints.data.may_leave_premises",
    }


def test_hints_suggest_the_fix(tmp_path: Path, runner: CliRunner) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        VALID.replace("ttft_p95_ms: 1500", "ttft_p95_s: 1.5").replace(
            "e2e_p95_ms: 4000", "e2e_p95_ms: 4s"
        )
    )
    out = runner.invoke(app, ["validate", str(spec)]).stdout
    assert "did you mean 'ttft_p95_ms'?" in out
    assert "e2e_p95_ms: 4000" in out  # the converted value is suggested


def test_huge_file_is_refused_without_parsing(tmp_path: Path, runner: CliRunner) -> None:
    spec = tmp_path / "big.yaml"
    with spec.open("w") as handle:
        handle.write(VALID)
        handle.write("# padding\n" * 5_000_000)  # ~50 MB
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2
    assert f"{spec}:1:1: (file): file is 5" in result.stdout


def test_missing_file(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "file not found" in result.stdout


def test_valid_spec_passes_with_dataset_warning(tmp_path: Path, runner: CliRunner) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(VALID)
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    assert "dataset file not found" in result.stdout
    (tmp_path / "cases.jsonl").write_text('{"input": "x", "expected": "y"}\n')
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0
    assert "warning" not in result.stdout


def test_unknown_model_ids_and_scorer_kinds_are_located(tmp_path: Path, runner: CliRunner) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "candidates:\n"
        "  - openai/gpt4o-mini\n"
        "  - model: local/smolm2\n"
        "scoring:\n"
        "  scorers:\n"
        "    - type: choise\n"
        "      name: accuracy\n"
        "    - type: numeric\n"
        "      name: num\n"
        "      tolerence: 0.1\n"
        "  primary: accuracy\n"
    )
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 2
    out = result.stdout
    assert f"{spec}:2:5: candidates[0].model: unknown model 'openai/gpt4o-mini'" in out
    assert "did you mean 'openai/gpt-4o-mini'" in out
    assert f"{spec}:3:12: candidates[1].model: unknown model 'local/smolm2'" in out
    assert f"{spec}:6:13: scoring.scorers[0].type: unknown scorer type 'choise'" in out
    assert "did you mean 'choice'?" in out
    assert f"{spec}:10:7: scoring.scorers[1].tolerence: unknown key" in out
