"""The whole choice as library calls: `decide(spec)` is what `llmpick decide` prints and writes.

```python
import llmpick

decision = llmpick.decide("llmpick.yaml")          # check, evaluate, cost, decide
print(decision.recommendation.headline)
llmpick.write_report(decision, "llmpick-report")   # report.html, decision.md, decision.json
```

The CLI is a shell over these functions: everything `decide` chooses (which runs and load tests
count as evidence, and why one is not used) is decided here and recorded in `Decision.notes`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llmpick._redact import redact_url
from llmpick.spec import LoadedSpec, Spec, load_spec

if TYPE_CHECKING:
    from llmpick.constraints import CheckReport
    from llmpick.costs import CapacityEvidence
    from llmpick.decision import DatasetItem, Decision, Evidence, SafetyEvidence
    from llmpick.evaluation import ProgressSink, RunOptions, RunOutcome
    from llmpick.hardware import FitReport
    from llmpick.safety import ProbeReport
    from llmpick.store import LoadTestRecord, Store
    from llmpick.tuning import EpochRecord, HeldOut, StepRecord, TuneResult

__all__ = [
    "DecideOptions",
    "TuningPlan",
    "check",
    "decide",
    "evaluate",
    "fit",
    "operating_points",
    "prepare_tuning",
    "probe",
    "probe_folder",
]


@dataclass(frozen=True)
class DecideOptions:
    """How `decide` gathers its evidence (the `llmpick decide` flags)."""

    use_cache: bool = True
    limit: int | None = None
    seed: int = 0
    draws: int = 400
    evaluate: bool = True


def _loaded(spec: LoadedSpec | Spec | str | Path) -> LoadedSpec | Spec:
    return load_spec(Path(spec)) if isinstance(spec, str | Path) else spec


def _as_loaded(spec: LoadedSpec | Spec) -> LoadedSpec:
    """A bare `Spec` as if read from the current folder (its relative paths resolve there)."""
    return spec if isinstance(spec, LoadedSpec) else LoadedSpec(spec, Path.cwd() / "spec", [])


@dataclass(frozen=True)
class TuningPlan:
    """What tuning decided before an evaluation: the held-out split every candidate is scored
    on, and per tuned candidate its adapter (trained now or reused) or why it has none."""

    held_out: HeldOut | None = None
    results: Mapping[str, TuneResult] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def tuned(self) -> dict[str, dict[str, object] | str]:
        """`RunOptions.tuned`: each tuned candidate's provider config, or its reason."""
        from llmpick.tuning import tuned_provider_config

        out: dict[str, dict[str, object] | str] = dict(self.reasons)
        out.update({label: tuned_provider_config(r) for label, r in self.results.items()})
        return out

    @property
    def item_ids(self) -> tuple[str, ...] | None:
        """`RunOptions.item_ids`: the held-out test ids when `dataset.path` was split."""
        held = self.held_out
        return held.test_ids if held is not None and not held.given_files else None


class _StepBars:
    """Training steps as one progress bar with the loss as it goes, drawn from the first step
    (none when an adapter is reused); each epoch's validation loss is noted as it is known."""

    def __init__(self, progress: ProgressSink | None, task: str, total: int) -> None:
        self._progress, self._task, self._total, self._started = progress, task, total, False
        self._validation: list[float] = []
        self._resumed = 0

    def resume(self, steps: int) -> None:
        """Training resumes from a checkpoint holding `steps` steps (drawn as done)."""
        self._resumed = steps

    def step(self, record: StepRecord) -> None:
        if self._progress is None:
            return
        if not self._started:
            self._progress.start(self._task, self._total, self._resumed, unit="steps")
            self._started = True
        said = f"loss {record.loss:.3f}"
        if self._validation:
            said += f", validation loss {self._validation[-1]:.3f}"
        self._progress.advance(self._task, note=said)

    def epoch(self, record: EpochRecord) -> None:
        self._validation.append(record.validation_loss)

    def finish(self) -> None:
        if self._progress is not None and self._started:
            losses = " -> ".join(f"{v:.3f}" for v in self._validation)
            self._progress.finish(
                self._task, f"trained (validation loss per epoch {losses})" if losses else "trained"
            )


def prepare_tuning(
    spec: LoadedSpec | Spec | str | Path,
    *,
    only: Sequence[str] | None = None,
    progress: ProgressSink | None = None,
    output_root: Path | None = None,
) -> TuningPlan:
    """Before `eval`/`decide`: find the spec's held-out split and give every tuned candidate
    (of `only`, when given) its adapter, training it when no adapter for the same base, data
    and settings exists. Without the `tune` extra a tuned candidate gets the install command as
    its reason (it is reported as not measured) and the rest of the evaluation goes on."""
    from llmpick.tuning import TuningError, held_out, missing_extra, tune, tunes

    loaded = _as_loaded(_loaded(spec))
    if not tunes(loaded):
        return TuningPlan()
    held = held_out(loaded)
    assert held is not None
    sizes = held.splits.sizes()
    notes = [
        f"held-out test items: every candidate is evaluated on the same {sizes['test']} test "
        f"items only ({held.source}); none of them is a training or validation item "
        "(checked by id)"
    ]
    results: dict[str, TuneResult] = {}
    reasons: dict[str, str] = {}
    missing = missing_extra()
    for candidate in loaded.spec.candidates:
        label = candidate.label
        if candidate.tune is None or (only and label not in only):
            continue
        if missing is not None:
            reasons[label] = f"not measured: {missing}"
            notes.append(f"{label} not tuned: {missing}")
            continue
        settings = candidate.tune
        per_epoch = -(-sizes["train"] // settings.batch_size)
        bars = _StepBars(
            progress,
            f"{label} (training)",
            min(settings.max_steps or per_epoch * settings.epochs, per_epoch * settings.epochs),
        )
        try:
            result = tune(
                loaded,
                label,
                output_root=output_root,
                on_step=bars.step,
                on_epoch=bars.epoch,
                on_resume=bars.resume,
            )
        except TuningError as exc:
            reasons[label] = f"not measured: could not tune: {exc}"
            notes.append(f"{label} not tuned: {exc}")
            continue
        finally:
            bars.finish()
        results[label] = result
        m = result.manifest
        if result.reused:
            notes.append(
                f"{label}: reused adapter {m.key} (same base weights, data and settings; "
                "nothing trained)"
            )
        else:
            notes.append(
                f"{label}: trained adapter {m.key} on {m.split_sizes['train']} items, "
                f"{len(m.steps)} steps in {m.wall_time_s:.1f} s"
            )
        if result.runtime_reason is not None:
            notes.append(f"{label} runs in transformers, not llama.cpp: {result.runtime_reason}")
    return TuningPlan(held, results, reasons, tuple(notes))


@contextlib.contextmanager
def _store(store: Store | None, db: str | Path | None) -> Iterator[Store]:
    if store is not None:
        yield store
        return
    from llmpick.store import open_store

    with open_store(db) as opened:
        yield opened


def check(spec: LoadedSpec | Spec | str | Path) -> CheckReport:
    """Step 2: every candidate through every hard constraint, eligible or excluded with reasons."""
    from llmpick.constraints import check_spec

    loaded = _loaded(spec)
    return check_spec(loaded.spec if isinstance(loaded, LoadedSpec) else loaded)


def fit(model: str, hardware: str, **options: object) -> FitReport:
    """Does an open-weight catalog model fit `hardware` (`2xL4`, `cpu:32GB`), and how?
    `options` are `llmpick.hardware.fit_model`'s (context_tokens, concurrency, quantization...)."""
    from llmpick.catalog import load_catalog
    from llmpick.hardware import fit_model

    entry = load_catalog().get(model)
    if entry.architecture is None:
        from llmpick._errors import LlmpickError

        raise LlmpickError(f"{entry.id} is an API model with no published architecture to fit")
    return fit_model(entry.architecture, hardware, model_name=entry.id, **options)  # type: ignore[arg-type]


def evaluate(
    spec: LoadedSpec | Spec | str | Path,
    *,
    store: Store | None = None,
    db: str | Path | None = None,
    options: RunOptions | None = None,
    progress: ProgressSink | None = None,
) -> RunOutcome:
    """Step 3: run (or resume) the spec's evaluation; load-tested endpoints run at their
    operating point (the concurrency of their measured capacity) unless told otherwise."""
    from llmpick.evaluation import RunOptions, run_async
    from llmpick.loadtest import latest_load_tests

    loaded = _loaded(spec)
    plain = loaded.spec if isinstance(loaded, LoadedSpec) else loaded
    options = options or RunOptions()
    if options.tuned is None:  # tuned candidates: their adapters, and the held-out items
        plan = prepare_tuning(loaded, only=options.only, progress=progress)
        options.tuned = plan.tuned
        options.item_ids = options.item_ids if options.item_ids is not None else plan.item_ids
    with _store(store, db) as opened:
        if options.concurrency_for is None:
            points, _ = operating_points(latest_load_tests(opened, plain))
            options.concurrency_for = points
        return asyncio.run(run_async(loaded, opened, options, progress=progress))


def probe_folder(store: Store) -> Path:
    """Where the probe datasets of runs in `store` are kept (beside its database file)."""
    from llmpick.store import default_db_path

    db = getattr(store, "path", None)
    base = Path(db).parent if db is not None and str(db) != ":memory:" else default_db_path().parent
    return base / "probes"


def probe(
    spec: LoadedSpec | Spec | str | Path,
    *,
    store: Store | None = None,
    db: str | Path | None = None,
    categories: list[str] | None = None,
    only: list[str] | None = None,
    use_cache: bool = True,
    limit: int | None = None,
    progress: ProgressSink | None = None,
) -> ProbeReport:
    """The safety probes on the spec's eligible candidates (or `only` these labels), inside the
    spec's own system prompt and template; pass rates per category with intervals."""
    from llmpick.safety import run_probes

    loaded = _loaded(spec)
    plain = loaded.spec if isinstance(loaded, LoadedSpec) else loaded
    labels = only or [v.candidate.label for v in check(plain).eligible]
    with _store(store, db) as opened:
        return asyncio.run(
            run_probes(
                loaded,
                opened,
                folder=probe_folder(opened),
                categories=categories,
                only=labels,
                use_cache=use_cache,
                limit=limit,
                progress=progress,
            )
        )


def safety_evidence(report: ProbeReport) -> dict[str, SafetyEvidence]:
    """A probe run as decision evidence, by label (only candidates that answered)."""
    from llmpick.decision import SafetyEvidence

    return {
        c.label: SafetyEvidence(
            categories={k: r for k, r in c.categories.items() if r.n},
            failures=tuple((f.probe_id, f.category, f.reason, f.answer) for f in c.failures),
            run_id=report.run_id,
        )
        for c in report.candidates
        if c.measured and c.scores
    }


def operating_points(tests: Mapping[str, LoadTestRecord]) -> tuple[dict[str, int], list[str]]:
    """Each load-tested endpoint's operating point by label (the concurrency its capacity was
    measured at, so its latency is the sized deployment's), with a note per endpoint."""
    points = {label: t for label, t in tests.items() if t.requests_per_s and t.concurrency}
    notes = [
        f"{label} evaluated at concurrency {t.concurrency}, its load-tested operating point "
        f"({t.id})"
        for label, t in points.items()
    ]
    return {label: int(t.concurrency or 1) for label, t in points.items()}, notes


def decide(
    spec: LoadedSpec | Spec | str | Path,
    *,
    store: Store | None = None,
    db: str | Path | None = None,
    options: DecideOptions | None = None,
    progress: ProgressSink | None = None,
) -> Decision:
    """Steps 2 to 4: check the constraints, evaluate the eligible candidates on the spec's
    dataset (resuming or answering from the cache what was already done), read their load tests,
    cost them and decide. Returns the typed `Decision` that `write_report` renders.

    `spec` is a path, a `LoadedSpec` or a `Spec` (a bare `Spec` resolves relative paths from the
    current folder). `store` defaults to llmpick's own database (or `db`)."""
    from llmpick.constraints import check_spec
    from llmpick.decision import TuningEvidence, decide_from_evidence, evidence_from_run
    from llmpick.evaluation import RunOptions, run_async
    from llmpick.loadtest import latest_load_tests

    options = options or DecideOptions()
    loaded = _loaded(spec)
    plain = loaded.spec if isinstance(loaded, LoadedSpec) else loaded
    check_report = check_spec(plain)
    eligible = [v.candidate.label for v in check_report.eligible]
    notes: list[str] = []
    evidence: dict[str, Evidence] = {}
    items: list[DatasetItem] = []
    safety: dict[str, SafetyEvidence] = {}
    run_id: str | None = None
    tuning: TuningEvidence | None = None
    with _store(store, db) as opened:
        tests = {k: v for k, v in latest_load_tests(opened, plain).items() if k in eligible}
        capacity, capacity_notes = capacity_evidence(tests, plain)
        notes += capacity_notes
        if plain.dataset is not None and eligible and options.evaluate:
            points, point_notes = operating_points(tests)
            notes += point_notes
            plan = prepare_tuning(loaded, only=eligible, progress=progress)
            notes += plan.notes
            run_options = RunOptions(
                use_cache=options.use_cache,
                limit=options.limit,
                only=eligible,
                concurrency_for=points,
                reuse_finished=True,
                item_ids=plan.item_ids,
                tuned=plan.tuned,
            )
            outcome = asyncio.run(run_async(loaded, opened, run_options, progress=progress))
            run_id = outcome.run_id
            if outcome.reused:
                notes.append(
                    f"reused run {run_id}: the same evaluation had finished, so nothing was called"
                )
            elif outcome.resumed:
                notes.append(f"resumed run {run_id}: {outcome.skipped_done} results were stored")
            evidence, items, summary = evidence_from_run(opened, run_id)
            if plan.held_out is not None:
                primary = plain.scoring.primary
                tuning = TuningEvidence(
                    plan.held_out,
                    plan.results,
                    plan.reasons,
                    [c for c in summary.comparisons if c.metric == primary],
                )
        if plain.safety is not None and eligible and options.evaluate:
            from llmpick.safety import run_probes

            report = asyncio.run(
                run_probes(
                    loaded,
                    opened,
                    folder=probe_folder(opened),
                    only=eligible,
                    use_cache=options.use_cache,
                    progress=progress,
                )
            )
            safety = safety_evidence(report)
            notes.append(f"safety probes: run {report.run_id}, {report.probes} probes")
    spec_path = str(loaded.path) if isinstance(loaded, LoadedSpec) else None
    spec_text = (
        loaded.path.read_text(encoding="utf-8")
        if isinstance(loaded, LoadedSpec)
        else plain.model_dump_json()
    )
    return decide_from_evidence(
        plain,
        check_report,
        evidence,
        items,
        capacity=capacity,
        spec_text=spec_text,
        spec_path=spec_path,
        run_id=run_id,
        seed=options.seed,
        draws=options.draws,
        notes=notes,
        safety=safety,
        tuning=tuning,
    )


def capacity_evidence(
    tests: Mapping[str, LoadTestRecord], spec: Spec
) -> tuple[dict[str, CapacityEvidence], list[str]]:
    """Each candidate's newest load test as capacity evidence, by label, when it was run against
    the spec's current SLO and names its hardware; what cannot be used is said, not dropped."""
    from llmpick.costs import CapacityEvidence
    from llmpick.loadtest import slo_of

    wanted = slo_of(spec)
    found: dict[str, CapacityEvidence] = {}
    notes: list[str] = []
    for label, test in tests.items():
        slo = test.result.get("slo", {})
        same_slo = (slo.get("ttft_p95_ms"), slo.get("e2e_p95_ms")) == (
            wanted.ttft_p95_ms,
            wanted.e2e_p95_ms,
        )
        problem = (
            "it met no level of the SLO"
            if test.requests_per_s is None
            else "it names no hardware (run it with --hardware)"
            if test.hardware is None
            else "the spec's latency SLO changed since"
            if not same_slo
            else None
        )
        if problem is not None or test.requests_per_s is None or test.hardware is None:
            notes.append(f"load test {test.id} of {label} not used: {problem}")
            continue
        found[label] = CapacityEvidence(
            requests_per_s=test.requests_per_s,
            hardware=test.hardware,
            concurrency=test.concurrency,
            source=f"load test {test.id} of {redact_url(test.endpoint)} on {test.hardware} "
            f"({test.created_at[:10]}: {test.requests_per_s:,.2f} requests/s at concurrency "
            f"{test.concurrency} within the SLO)",
            levels=tuple(
                {
                    "concurrency": level["concurrency"],
                    "target_rate": level.get("target_rate"),
                    "requests_per_s": level["requests_per_s"],
                    "ttft_p95_ms": level["ttft_ms"]["p95"],
                    "e2e_p95_ms": level["e2e_ms"]["p95"],
                    "meets_slo": level["meets_slo"],
                    "verdict": level["verdict"],
                }
                for level in test.result.get("levels", [])
            ),
            slo=slo,
            load_test_id=test.id,
        )
        notes.append(
            f"capacity of {label}: {test.requests_per_s:,.2f} requests/s on {test.hardware}, "
            f"measured by load test {test.id}"
        )
    return found, notes
