"""Fuzzing the spec loader and the dataset readers: whatever the bytes, the answer is a loaded
spec or dataset, or an `LlmpickError` (which the CLI prints located, with exit 2), within a
second; never another exception. Hypothesis keeps the failing input it finds, shrunk."""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpick._errors import LlmpickError
from llmpick.evaluation import load_dataset
from llmpick.spec import load_spec

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same inputs in every CI run; a found case is kept by its shrink
)

VALID_SPEC = """\
name: fuzz
candidates:
  - openai/gpt-4o-mini
  - name: local
    endpoint: {base_url: "http://127.0.0.1:9/v1", model: m}
constraints:
  infrastructure:
    hardware: [1xL4]
dataset:
  path: cases.jsonl
  template: "Q: {{ input }}"
"""


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load the catalog once, so the first example's deadline does not include it."""
    folder = Path(tempfile.mkdtemp())
    (folder / "llmpick.yaml").write_text(VALID_SPEC)
    load_spec(folder / "llmpick.yaml")


def _load_spec_text(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "llmpick.yaml"
        path.write_bytes(data)
        with contextlib.suppress(LlmpickError):
            load_spec(path)


def _load_dataset_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"cases{suffix}"
        path.write_bytes(data)
        with contextlib.suppress(LlmpickError):
            load_dataset(path, skip_bad_rows=bool(len(data) % 2))


# -------------------------------------------------------------------------------------- specs

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "{{ input }}",
            "{{ ''.__class__.__mro__ }}",
            "{% for x in y %}",
            "3xFOO",
            "2xL4",
            "cpu:32GB",
            "1e400",
            ".nan",
            "openai/gpt-4o-mini",
        ]
    ),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_FIELDS = [
    ("name",),
    ("candidates",),
    ("candidates", 0),
    ("candidates", 1, "endpoint"),
    ("candidates", 1, "template"),
    ("needs", "volume", "requests_per_day"),
    ("needs", "latency", "ttft_p95_ms"),
    ("constraints", "infrastructure", "hardware"),
    ("constraints", "infrastructure", "gpu_usd_per_hour"),
    ("dataset", "template"),
    ("dataset", "max_output_tokens"),
    ("scoring", "scorers"),
    ("weights",),
]


def _set(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Put `value` at `path` where the document has room for it (a sketch, not validation)."""
    node: Any = document
    for part in (*path[:-1], None):
        key = path[-1] if part is None else part
        if isinstance(node, dict):
            if part is None:
                node[key] = value
                return
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            if part is None:
                node[key] = value
                return
            node = node[key]
        else:
            return


@FUZZ
@given(st.binary(max_size=2000))
def test_spec_loader_survives_any_bytes(data: bytes) -> None:
    _load_spec_text(data)


@FUZZ
@given(st.text(max_size=2000))
def test_spec_loader_survives_any_text(text: str) -> None:
    _load_spec_text(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(_FIELDS), _values), min_size=1, max_size=4))
def test_spec_loader_survives_any_values_in_a_valid_spec(edits: list[tuple[Any, Any]]) -> None:
    document = yaml.safe_load(VALID_SPEC)
    for path, value in edits:
        _set(document, path, value)
    _load_spec_text(yaml.safe_dump(document, allow_unicode=True).encode("utf-8", "surrogatepass"))


@FUZZ
@given(
    st.integers(min_value=0, max_value=len(VALID_SPEC)), st.text(max_size=40), st.integers(0, 40)
)
def test_spec_loader_survives_a_damaged_valid_spec(at: int, insert: str, cut: int) -> None:
    text = VALID_SPEC[:at] + insert + VALID_SPEC[at + cut :]
    _load_spec_text(text.encode("utf-8", "surrogatepass"))


# ----------------------------------------------------------------------------------- datasets

_cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['"', '""', '"a"b"', "\n", "\r\n", ",", "\t", "\ufeff", "\x00", "\\ud800"]),
)


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from([".jsonl", ".csv", ".tsv", ".parquet"]))
def test_dataset_readers_survive_any_bytes(data: bytes, suffix: str) -> None:
    _load_dataset_bytes(data, suffix)


@FUZZ
@given(st.lists(st.lists(_cells, min_size=0, max_size=4), max_size=8), st.booleans())
def test_csv_reader_survives_any_cells(rows: list[list[str]], header: bool) -> None:
    lines = (["input,expected"] if header else []) + [",".join(row) for row in rows]
    _load_dataset_bytes("\n".join(lines).encode("utf-8", "surrogatepass"), ".csv")


@FUZZ
@given(st.lists(st.one_of(_values, st.text(max_size=50)), max_size=8))
def test_jsonl_reader_survives_any_rows(rows: list[Any]) -> None:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    _load_dataset_bytes("\n".join(lines).encode("utf-8", "surrogatepass"), ".jsonl")
