"""The CPU capacity estimate against a real load test of `llmpick serve` on this machine.

`llmpick serve` runs llama.cpp's server; it is load-tested here with the load-test example's
prompts (the quickstart's tickets with its system prompt and few-shot examples) at one request
in flight, which is what a one-sequence server serves. The estimate for the same hardware
(`cpu:8GB`: priced as a 2-vCPU host, the server given 2 threads) and the same request shape must
be within 3x of what the server achieved: the issue was a 200x miss.

The estimate describes a host whose cores serve only this model. On a shared machine the wall
clock also counts time the server waited for a core, so the server is also run on one thread
and its own CPU time measured: requests per CPU-second is what one core serves when it is its
own, and the estimate per core (this tiny model is compute bound, so the estimate is linear in
cores) must be within 3x of it. One thread, because llama.cpp's threads spin while they wait
for each other, which on a busy machine inflates CPU time too. The wall-clock rate on the
host's cores is compared only when the machine is not busier than its cores.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from llmpick.catalog import load_catalog
from llmpick.costs import ESTIMATE_TOLERANCE, replica_throughput
from llmpick.hardware import cpu_host_for, parse_hardware
from llmpick.loadtest import LevelResult, Slo, SweepOptions, plan_load_test, sweep
from llmpick.providers import create_provider
from llmpick.spec import Spec, load_spec
from llmpick.testing import LlamaCppServer

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp.server") is None, reason="needs llama_cpp.server"
    ),
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc"),
]

EXAMPLE = Path(__file__).parents[2] / "examples" / "loadtest" / "llmpick.yaml"
HARDWARE = "cpu:8GB"


MODEL = "local/smollm2-135m-instruct"
WARMUP = 2
# Even one thread's CPU time inflates on a machine far busier than its cores (a busy sibling
# hyperthread, evicted caches): at 11x the cores the estimate read 2.2-2.7x the measured rate
# per core. Beyond this load the comparison would measure the other work, not the model.
BUSY_LIMIT = 12.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load_test(threads: int) -> tuple[LevelResult, float, float, Spec]:
    """The load-test level at one request in flight, the server's requests per CPU-second per
    thread, and the share of each prompt that is the prefix every prompt shares."""
    loaded = load_spec(EXAMPLE)
    plan = plan_load_test(loaded, "smollm2-served")
    with LlamaCppServer(MODEL, threads=threads, context_tokens=2048) as server:
        assert server._process is not None
        config = {**plan.provider_config, "base_url": server.url}
        before = _cpu_seconds(server._process.pid)
        async with create_provider(config) as provider:
            levels, _ = await sweep(
                provider,
                plan.prompts,
                plan.params,
                Slo(),
                SweepOptions(
                    levels=(1,), requests_per_level=12, bisect_steps=0, warmup_requests=WARMUP
                ),
            )
        cpu_s = _cpu_seconds(server._process.pid) - before
    measured = levels[0]
    assert measured.errors == 0 and measured.requests_per_s > 0
    per_core_rate = (measured.requests + WARMUP) / (cpu_s / threads)
    # The server keeps the previous prompt's tokens and recomputes only what differs: the
    # system prompt and few-shot turns every prompt shares (measured as a share of characters).
    shared, total = 0, 0
    for prompt in plan.prompts:
        assert not isinstance(prompt, str)  # the example is a chat dataset
        head = sum(len(message.content) for message in prompt[:-1])
        shared, total = shared + head, total + head + len(prompt[-1].content)
    return measured, per_core_rate, shared / total, loaded.spec


def _estimate(measured: LevelResult, cached_share: float, example: Spec) -> float:
    assert measured.mean_input_tokens and measured.mean_output_tokens
    spec = Spec.model_validate(
        {
            "needs": {
                "latency": example.needs.latency.model_dump(),
                "volume": {
                    "requests_per_day": 1000,
                    "mean_input_tokens": measured.mean_input_tokens,
                    "mean_output_tokens": measured.mean_output_tokens,
                    "cacheable_input_share": cached_share,
                },
            },
            "candidates": [MODEL],
        }
    )
    arch = load_catalog().get(MODEL).architecture
    assert arch is not None
    estimate, _ = replica_throughput(arch, parse_hardware(HARDWARE), "q4_1", 2048, spec)
    assert estimate is not None
    return estimate.requests_per_s


def _within(estimate: float, measured: float, what: str) -> None:
    ratio = estimate / measured
    assert 1 / ESTIMATE_TOLERANCE <= ratio <= ESTIMATE_TOLERANCE, (
        f"{what}: estimate {estimate:.2f} requests/s vs measured {measured:.2f} ({ratio:.2f}x)"
    )


async def test_the_cpu_estimate_per_core_is_within_3x_of_a_real_load_test() -> None:
    host = cpu_host_for(parse_hardware(HARDWARE).device.memory_gb)
    assert host is not None
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    if busy > BUSY_LIMIT:
        pytest.skip(f"load is {busy:.1f}x the cores: too busy to measure even one core")
    measured, per_core_rate, cached_share, example = await _load_test(threads=1)
    estimate_per_core = _estimate(measured, cached_share, example) / host.vcpus
    shape = (
        f"one core ({measured.mean_input_tokens:.0f} prompt tokens, {cached_share:.0%} shared "
        f"prefix; {measured.requests_per_s:.2f} requests/s on the wall clock)"
    )
    _within(estimate_per_core, per_core_rate, shape)


async def test_the_cpu_estimate_is_within_3x_of_a_real_load_test_on_a_quiet_machine() -> None:
    host = cpu_host_for(parse_hardware(HARDWARE).device.memory_gb)
    assert host is not None
    # On 2 cores the load generator shares the CPU with the server, so the wall clock only
    # means something on a machine kept quiet for it: opt in (the per-core test runs in CI).
    if os.environ.get("LLMPICK_QUIET_MACHINE") != "1":
        pytest.skip("set LLMPICK_QUIET_MACHINE=1 on a machine kept quiet for this measurement")
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    if busy > 1:
        pytest.skip(f"load is {busy:.1f}x the cores: the wall clock measures the other work")
    measured, _, cached_share, example = await _load_test(threads=host.vcpus)
    _within(_estimate(measured, cached_share, example), measured.requests_per_s,
            f"{host.vcpus} threads on the wall clock")  # fmt: skip
