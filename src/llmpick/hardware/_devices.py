"""The device table: memory, bandwidth and a typical hourly price for each accelerator.

The facts live in ``devices.yaml`` beside this module, one row per device with its sources and
the date they were read, plus the cloud CPU hosts that price a ``cpu:<N>GB`` machine; this
module only loads and looks them up.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

DeviceKind = Literal["gpu", "apple", "cpu"]


class DeviceInfo(BaseModel):
    """One device: how much memory it has, how fast it reads it, and what an hour costs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Canonical name used in hardware strings: H100-80GB-SXM, L4, ...")
    kind: DeviceKind
    vendor: str
    name: str
    aliases: tuple[str, ...] = ()
    memory_gb: float = Field(gt=0, description="Marketed memory, decimal GB (1e9 bytes).")
    bandwidth_gbps: float = Field(gt=0, description="Peak memory bandwidth, GB/s.")
    fp16_tflops: float | None = Field(
        None,
        gt=0,
        description="Peak dense FP16/BF16 matrix throughput, TFLOPS (no sparsity); it bounds "
        "how fast prompts are processed. Null where no source gives it.",
    )
    tflops_source: str | None = None
    prompt_gflops_per_core: float | None = Field(
        None,
        gt=0,
        description="CPU only: effective GFLOPS one core (vCPU thread) reaches in llama.cpp "
        "prompt processing, measured (used as is, no efficiency factor).",
    )
    decode_gflops_per_core: float | None = Field(
        None,
        gt=0,
        description="CPU only: effective GFLOPS one core reaches while decoding one sequence "
        "(matrix-vector products), measured.",
    )
    throughput_source: str | None = Field(
        None, description="Where the per-core figures come from (what was measured, where)."
    )
    driver_memory_mib: int | None = Field(
        None, gt=0, description="Total memory the driver reports (nvidia-smi), MiB."
    )
    interconnect: Literal["nvlink", "pcie"] = Field(
        "pcie", description="How cards of this kind exchange tensor-parallel partial results."
    )
    usable_fraction: float = Field(
        1.0, gt=0, le=1, description="Share of memory a model may use (Apple: GPU working set)."
    )
    source: str
    usd_per_hour: float | None = Field(None, ge=0, description="Typical on-demand $/h, one device.")
    price_source: str | None = None
    as_of: dt.date

    @property
    def memory_bytes(self) -> int:
        """Memory a model may use: the driver's total when known, else the marketed size,
        times ``usable_fraction`` (macOS keeps part of unified memory from the GPU)."""
        total = (
            self.driver_memory_mib * 2**20
            if self.driver_memory_mib is not None
            else self.memory_gb * 1e9
        )
        return int(total * self.usable_fraction)


class CpuHost(BaseModel):
    """A cloud CPU host size: what a ``cpu:<N>GB`` machine costs and how many cores it has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance: str
    vcpus: int = Field(gt=0)
    memory_gib: float = Field(gt=0, description="Memory as the cloud lists it, GiB (2**30 bytes).")
    usd_per_hour: float = Field(ge=0, description="On-demand price, Linux.")
    source: str
    as_of: dt.date


@cache
def _table() -> dict[str, object]:
    text = resources.files("llmpick.hardware").joinpath("devices.yaml").read_text("utf-8")
    data: dict[str, object] = YAML(typ="safe").load(text)
    return data


@cache
def _device_table() -> tuple[DeviceInfo, ...]:
    rows = _table()["devices"]
    assert isinstance(rows, list)
    return tuple(DeviceInfo.model_validate(row) for row in rows)


@cache
def cpu_hosts() -> tuple[CpuHost, ...]:
    """The priced cloud CPU hosts, smallest first."""
    table = _table()
    rows = table.get("cpu_hosts") or []
    assert isinstance(rows, list)
    common = {"source": table["cpu_hosts_source"], "as_of": table["cpu_hosts_as_of"]}
    hosts = (CpuHost.model_validate({**common, **row}) for row in rows)
    return tuple(sorted(hosts, key=lambda host: host.memory_gib))


def cpu_host_for(memory_gb: float) -> CpuHost | None:
    """The smallest priced host whose memory holds ``memory_gb`` (decimal GB), or None when
    ``memory_gb`` is larger than every host in the table."""
    return next((h for h in cpu_hosts() if h.memory_gib * 2**30 >= memory_gb * 1e9), None)


def known_devices() -> tuple[DeviceInfo, ...]:
    """Every device in the bundled table, in table order."""
    return _device_table()


@cache
def _names_to_devices() -> dict[str, DeviceInfo]:
    names: dict[str, DeviceInfo] = {}
    for device in _device_table():
        for name in (device.id, *device.aliases):
            names[normalise_device_name(name)] = device
    return names


def normalise_device_name(name: str) -> str:
    """Upper-case and unify separators, so ``h100_80gb``, ``H100 80GB`` and ``H100-80GB`` match."""
    parts = name.strip().upper().replace("_", "-").replace(" ", "-").split("-")
    return "-".join(part for part in parts if part)


def find_device(name: str) -> DeviceInfo | None:
    """The device whose id or alias is ``name`` (case-insensitive), or None."""
    return _names_to_devices().get(normalise_device_name(name))


def device_names(kind: DeviceKind | None = None) -> list[str]:
    """All ids and aliases (upper case), optionally only of one kind; for suggestions."""
    return [
        name for name, device in _names_to_devices().items() if kind is None or device.kind == kind
    ]
