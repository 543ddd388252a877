"""What a tuned model learns from: each item's prompt, built exactly as the evaluation builds it.

The prompt goes through the evaluation's own `plan_candidates` and `PromptBuilder` (the spec's
template, system prompt and few-shot examples, the candidate's prompt mode), so the model is
trained on the very prompts it is later evaluated on; the target is the item's expected answer.
Which items are trained on is the spec's split (`_holdout`), the same for every candidate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from llmpick.evaluation import PlannedCandidate, PromptBuilder
from llmpick.evaluation import plan_candidates as _plan_candidates
from llmpick.providers import BUNDLED_MODELS, Prompt, resolve_gguf
from llmpick.spec import Candidate, LoadedSpec
from llmpick.tuning._errors import TuningError
from llmpick.tuning._holdout import HeldOut, read_split_items
from llmpick.tuning._splits import Splits

__all__ = ["Example", "TuningData", "load_tuning_data"]


@dataclass(frozen=True)
class Example:
    """One item as the model sees it: the evaluation's prompt and the answer to learn."""

    id: str
    prompt: Prompt
    target: str


@dataclass(frozen=True)
class TuningData:
    """Everything tuning needs from a spec and one of its candidates."""

    candidate: str
    base_model: str
    base_path: Path
    prompt_mode: Literal["chat", "completion"]
    examples: dict[str, Example]
    splits: Splits
    held_out: HeldOut

    def split(self, name: Literal["train", "validation", "test"]) -> list[Example]:
        return [self.examples[i] for i in getattr(self.splits, name)]

    def data_hash(self) -> str:
        """SHA-256 of the training and validation examples (prompt, target, which split):
        what changes the training. The test items do not: a new test file reuses the adapter."""
        payload = {
            "mode": self.prompt_mode,
            "splits": {k: list(getattr(self.splits, k)) for k in ("train", "validation")},
            "examples": [
                [e.id, _plain(e.prompt), e.target]
                for name in ("train", "validation")
                for e in sorted(self.split(name), key=_id)
            ],
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()


def load_tuning_data(loaded: LoadedSpec, candidate: str) -> TuningData:
    """Read the spec's split (see `held_out`) and build each item's prompt for `candidate`.

    `candidate` is a tuned candidate's label (`tuned/<name>`: its base is trained, with the
    prompt the tuned candidate is evaluated with) or a local GGUF candidate's (a bundled
    `local/...` id or a `gguf` file): those are the weights tuning can load. Items without an
    expected answer cannot be trained on.
    """
    from llmpick.catalog import load_catalog

    spec = loaded.spec
    if spec.dataset is None:
        raise TuningError(f"{loaded.path}: the spec has no `dataset` section to tune on")
    names = [c.label for c in spec.candidates]
    found = next((c for c in spec.candidates if c.label == candidate), None)
    if found is None:
        raise TuningError(
            f"{loaded.path}: no candidate named {candidate!r}; candidates: {', '.join(names)}"
        )
    dataset = spec.dataset
    trained = found
    if found.tune is not None:  # the base's weights, prompted as the tuned candidate is
        trained = Candidate(
            model=found.tune.base,
            prompt_mode=found.prompt_mode,
            template=found.template,
            system_prompt=found.system_prompt,
            few_shot=found.few_shot,
        )
    (planned,) = _plan_candidates([trained], dataset, load_catalog(), loaded.base_dir)
    planned.label = candidate
    base_model, base_path = _base_weights(planned, loaded.path)
    builder = PromptBuilder(
        template=planned.template,
        mode=planned.prompt_mode,
        system_prompt=planned.system_prompt,
        few_shot=planned.few_shot,
        input_field=dataset.input_field,
    )
    held, items = read_split_items(loaded)
    learned = set(held.splits.train) | set(held.splits.validation)
    missing = [i for i in items.values() if i.id in learned and not i.expected]
    if missing:
        raise TuningError(
            f"{len(missing)} training item(s) have no expected answer to train on "
            f"(field {dataset.expected_field!r}), e.g. id {missing[0].id}"
        )
    examples = {
        i.id: Example(i.id, builder.build(i), str(i.expected or "")) for i in items.values()
    }
    return TuningData(
        candidate, base_model, base_path, planned.prompt_mode, examples, held.splits, held
    )


def _base_weights(planned: PlannedCandidate, spec_path: Path) -> tuple[str, Path]:
    config = planned.provider_config
    if config is None or config.get("kind") != "llamacpp":
        local = planned.label.startswith("local/") or "gguf" in planned.description
        why = f" ({planned.reason})" if local and planned.reason else ""
        raise TuningError(
            f"{spec_path}: candidate {planned.label!r} cannot be tuned here: only local GGUF "
            f"models (local/... or `gguf`) have weights to train{why}"
        )
    model = str(config["model"])
    if config.get("model_path"):
        path = Path(str(config["model_path"]))
    elif model in BUNDLED_MODELS:
        path = resolve_gguf(BUNDLED_MODELS[model])
    else:
        raise TuningError(f"{spec_path}: candidate {planned.label!r} has no weights file")
    if not path.is_file():
        raise TuningError(f"{spec_path}: candidate {planned.label!r}: no such file {path}")
    return model, path


def _plain(prompt: Prompt) -> object:
    return prompt if isinstance(prompt, str) else [[m.role, m.content] for m in prompt]


def _id(example: Example) -> str:
    return example.id
