"""A tuned candidate in the spec: its fields, its label, and located errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpick.spec import Spec, SpecError, TuneSpec, load_spec
from llmpick.tuning import TuneSettings

HEAD = "version: 1\ncandidates:\n  - local/smollm2-135m-instruct\n"
DATASET = "dataset:\n  path: tickets.jsonl\n  expected_field: queue\n"


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "llmpick.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return [str(p) for p in caught.value.problems]


def test_the_spec_trains_with_tune_settings_fields() -> None:
    # The spec's tune block is TuneSettings plus what only the spec knows (base, cadence).
    assert set(TuneSpec.model_fields) - {"base", "retune_every_days"} == set(
        TuneSettings.model_fields
    )
    for name, field in TuneSettings.model_fields.items():
        default = TuneSpec.model_fields[name].get_default(call_default_factory=True)
        assert (
            default == field.get_default(call_default_factory=True)
            or list(field.get_default() or ()) == default
        ), name


def test_a_tuned_candidate_is_labelled_tuned_and_takes_its_base_facts(tmp_path: Path) -> None:
    (tmp_path / "tickets.jsonl").write_text('{"input": "a", "queue": "b"}\n')
    text = HEAD + (
        "  - tune: {base: local/smollm2-135m-instruct, epochs: 2, rank: 4, "
        "retune_every_days: 30}\n"
        "  - name: tickets\n    tune: {base: local/smollm2-135m-instruct}\n" + DATASET
    )
    path = tmp_path / "llmpick.yaml"
    path.write_text(text)
    spec = load_spec(path).spec
    labels = [c.label for c in spec.candidates]
    assert labels == [
        "local/smollm2-135m-instruct",
        "tuned/smollm2-135m-instruct",
        "tuned/tickets",
    ]
    tuned = spec.candidates[1]
    assert tuned.catalog_ref == "local/smollm2-135m-instruct"
    assert tuned.tune is not None and tuned.tune.retune_every_days == 30
    assert spec.needs.horizon_months == 12


@pytest.mark.parametrize(
    ("candidate", "where", "says"),
    [
        (
            "  - tune: {base: openai/gpt-4o-mini}\n",
            ":4:18: candidates[1].tune.base:",
            "has no weights here to train",
        ),
        (
            "  - tune: {base: local/smollm2-135m-instrct}\n",
            ":4:18: candidates[1].tune.base:",
            "did you mean 'local/smollm2-135m-instruct'",
        ),
        (
            "  - tune: {base: local/smollm2-135m-instruct, lr: 0.01}\n",
            ":4:47: candidates[1].tune.lr: unknown key",
            "did you mean 'learning_rate'?",
        ),
        (
            "  - tune: {base: local/smollm2-135m-instruct, method: qlora}\n",
            "candidates[1].tune.method:",
            "'lora'",
        ),
        (
            "  - tune: {base: local/smollm2-135m-instruct, retune_every_days: 0}\n",
            "candidates[1].tune.retune_every_days:",
            "greater than 0",
        ),
        (
            "  - model: local/gemma-3-270m\n    tune: {base: local/smollm2-135m-instruct}\n",
            ":4:5: candidates[1]:",
            "exactly one of `model`, `endpoint`, `gguf` or `tune` (got model, tune)",
        ),
        (
            "  - tune: {base: local/smollm2-135m-instruct}\n"
            "  - tune: {base: local/smollm2-135m-instruct}\n",
            "candidates:",
            "candidates listed twice: tuned/smollm2-135m-instruct",
        ),
    ],
)
def test_a_bad_tune_block_is_located_with_a_fix(
    tmp_path: Path, candidate: str, where: str, says: str
) -> None:
    found = problems(tmp_path, HEAD + candidate + DATASET)
    assert any(where in p and says in p for p in found), found


def test_a_tuned_candidate_needs_a_dataset_with_answers(tmp_path: Path) -> None:
    tune = "  - tune: {base: local/smollm2-135m-instruct}\n"
    (found,) = problems(tmp_path, HEAD + tune)
    assert ":4:5: candidates[1].tune: a tuned candidate needs a `dataset`" in found
    no_answers = DATASET.replace("expected_field: queue", "expected_field: null")
    (found,) = problems(tmp_path, HEAD + tune + no_answers)
    assert "dataset.expected_field:" in found and "name the field that holds them" in found


def test_split_and_given_files_are_checked(tmp_path: Path) -> None:
    tune = "  - tune: {base: local/smollm2-135m-instruct}\n"
    (found,) = problems(
        tmp_path,
        HEAD + tune + DATASET + "  split: {validation_fraction: 0.6, test_fraction: 0.5}\n",
    )
    assert "dataset.split.test_fraction:" in found and "keep their sum below 1" in found
    (found,) = problems(tmp_path, HEAD + tune + DATASET + "  validation_path: val.jsonl\n")
    assert ":8:20: dataset.validation_path: validation_path needs train_path" in found
    # Prompt variants and a tuned candidate do not mix (it learned one prompt).
    variants = "prompts:\n  - name: terse\n    template: '{{ input }}'\n"
    (found,) = problems(tmp_path, HEAD + tune + DATASET + variants)
    assert "prompts:" in found and "tuned candidate learns one prompt" in found


def test_training_files_without_a_tuned_candidate_warn(tmp_path: Path) -> None:
    (tmp_path / "tickets.jsonl").write_text('{"input": "a", "queue": "b"}\n')
    path = tmp_path / "llmpick.yaml"
    (found,) = problems(tmp_path, HEAD + DATASET + "  train_path: train.jsonl\n")
    assert "dataset.train_path: given training files need `id_field`" in found
    path.write_text(HEAD + DATASET + "  id_field: id\n  train_path: train.jsonl\n")
    warnings = [str(w) for w in load_spec(path).warnings]
    assert any("dataset.train_path: warning: dataset file not found" in w for w in warnings)
    assert any("no candidate is tuned" in w for w in warnings)


def test_the_schema_knows_the_tune_block() -> None:
    schema = Spec.model_json_schema()
    assert "tune" in schema["$defs"]["Candidate"]["properties"]
    assert {"train_path", "validation_path", "split"} <= set(
        schema["$defs"]["Dataset"]["properties"]
    )
