"""Hardware strings such as ``2xL4``, ``cpu:32GB`` or ``apple:M3-Max-128GB``.

Grammar (case-insensitive; spaces and underscores count as dashes)::

    HARDWARE := [COUNT "x"] GPU            e.g. L4, 2xL4, 4xA100-40GB, 8xH100
              | "cpu:" SIZE                 e.g. cpu:32GB   (system RAM, llama.cpp on CPU)
              | "apple:" CHIP "-" SIZE      e.g. apple:M3-Max-128GB (unified memory)
    COUNT    := 1..64                      cards used together with tensor parallelism
    SIZE     := NUMBER "GB"
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from llmpick._errors import LlmpickError
from llmpick.hardware._devices import (
    DeviceInfo,
    DeviceKind,
    device_names,
    find_device,
    known_devices,
    normalise_device_name,
)

MAX_DEVICE_COUNT = 64

ACCEPTED_FORMS = (
    "[COUNT x]GPU (e.g. L4, 2xL4, 1xH100-80GB, 4xA100-40GB), "
    "cpu:SIZE (e.g. cpu:32GB), apple:CHIP-SIZE (e.g. apple:M3-Max-128GB)"
)

_GPU_RE = re.compile(r"^(?:(?P<count>\d{1,6})\s*[xX×]\s*)?(?P<name>.+)$")
_SIZE_RE = re.compile(r"^(?P<gb>\d{1,9}(?:\.\d{1,9})?)\s*GB$", re.IGNORECASE)
_MAX_TEXT = 200  # longer than any device name with its count; refused before any matching


class HardwareParseError(LlmpickError, ValueError):
    """A hardware string llmpick cannot read; the message lists the accepted forms.

    Also a ValueError, so pydantic validators that call the parser report it as a field error.
    """


@dataclass(frozen=True)
class HardwareSpec:
    """``count`` identical devices; GPUs split a model across them with tensor parallelism."""

    count: int
    device: DeviceInfo

    @property
    def label(self) -> str:
        """The canonical hardware string, e.g. ``2xL4``, ``cpu:32GB``."""
        size = f"{self.device.memory_gb:g}GB"
        if self.device.kind == "cpu":
            return f"cpu:{size}"
        if self.device.kind == "apple":
            return f"apple:{self.device.id}-{size}"
        return f"{self.count}x{self.device.id}"

    @property
    def usd_per_hour(self) -> float | None:
        """On-demand price of all devices together, or None when unknown."""
        price = self.device.usd_per_hour
        return None if price is None else price * self.count

    def with_price(self, usd_per_hour_per_device: float | None) -> HardwareSpec:
        """The same hardware at another hourly price per device (a quote, a reservation)."""
        device = self.device.model_copy(
            update={"usd_per_hour": usd_per_hour_per_device, "price_source": "user override"}
        )
        return HardwareSpec(count=self.count, device=device)


def parse_hardware(text: str, *, usd_per_hour: float | None = None) -> HardwareSpec:
    """Read a hardware string (see the module grammar); ``usd_per_hour`` overrides the price.

    Raises HardwareParseError (a ValueError) naming the accepted forms and close device names.
    """
    raw = text.strip()
    if not raw:
        raise HardwareParseError(f"empty hardware string; use one of: {ACCEPTED_FORMS}")
    if len(raw) > _MAX_TEXT:
        raise HardwareParseError(
            f"hardware string of {len(raw)} characters is not one; use one of: {ACCEPTED_FORMS}"
        )
    prefix, _, rest = raw.partition(":")
    if rest and prefix.strip().lower() == "cpu":
        spec = _parse_cpu(raw, rest)
    elif rest and prefix.strip().lower() == "apple":
        spec = _parse_apple(raw, rest)
    else:
        spec = _parse_gpu(raw)
    return spec if usd_per_hour is None else spec.with_price(usd_per_hour)


def _parse_size(raw: str, size: str) -> float:
    match = _SIZE_RE.match(size.strip())
    if match is None or float(match["gb"]) <= 0:
        raise HardwareParseError(
            f"hardware {raw!r}: {size!r} is not a memory size like 32GB; "
            f"use one of: {ACCEPTED_FORMS}"
        )
    return float(match["gb"])


def _parse_cpu(raw: str, rest: str) -> HardwareSpec:
    cpu = next(device for device in known_devices() if device.kind == "cpu")
    memory_gb = _parse_size(raw, rest)
    return HardwareSpec(count=1, device=cpu.model_copy(update={"memory_gb": memory_gb}))


def _parse_apple(raw: str, rest: str) -> HardwareSpec:
    name = normalise_device_name(rest)
    chip_name, _, size = name.rpartition("-")
    chip = find_device(chip_name) if chip_name else None
    if chip is None or chip.kind != "apple":
        raise HardwareParseError(
            f"hardware {raw!r}: unknown Apple chip {chip_name or name!r}"
            f"{_suggest(chip_name or name, 'apple', prefix='apple:', suffix='-128GB')}; "
            f"use one of: {ACCEPTED_FORMS}"
        )
    memory_gb = _parse_size(raw, size)
    if memory_gb > chip.memory_gb:
        raise HardwareParseError(
            f"hardware {raw!r}: {chip.id} comes with at most {chip.memory_gb:g}GB"
        )
    return HardwareSpec(count=1, device=chip.model_copy(update={"memory_gb": memory_gb}))


def _parse_gpu(raw: str) -> HardwareSpec:
    match = _GPU_RE.match(raw)
    assert match is not None  # the pattern accepts any non-empty text
    count = int(match["count"]) if match["count"] else 1
    name = match["name"]
    device = find_device(name)
    if device is None or device.kind != "gpu":
        raise HardwareParseError(
            f"hardware {raw!r}: unknown device {name.strip()!r}{_suggest(name, 'gpu')}; "
            f"use one of: {ACCEPTED_FORMS}; `llmpick fit --list-devices` lists the devices"
        )
    if not 1 <= count <= MAX_DEVICE_COUNT:
        raise HardwareParseError(
            f"hardware {raw!r}: device count must be between 1 and {MAX_DEVICE_COUNT}"
        )
    return HardwareSpec(count=count, device=device)


def _suggest(name: str, kind: DeviceKind, prefix: str = "", suffix: str = "") -> str:
    candidates = device_names(kind)
    close = difflib.get_close_matches(normalise_device_name(name), candidates, n=3, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + ", ".join(f"{prefix}{c}{suffix}" for c in close) + "?)"
