"""Hardware strings and the device table."""

from __future__ import annotations

import types

import pytest

import llmpick.hardware as hardware
from llmpick.hardware import HardwareParseError, known_devices, parse_hardware


def test_all_is_complete() -> None:
    public = {
        name
        for name, value in vars(hardware).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public == set(hardware.__all__)


@pytest.mark.parametrize(
    ("text", "count", "device_id"),
    [
        ("2xL4", 2, "L4"),
        ("1xH100-80GB", 1, "H100-80GB-SXM"),
        ("h100", 1, "H100-80GB-SXM"),
        ("8 x H100_PCIe", 8, "H100-80GB-PCIE"),
        ("4xA100-40GB", 4, "A100-40GB"),
        ("A100", 1, "A100-80GB"),
        ("2x4090", 2, "RTX-4090"),
        ("MI300X", 1, "MI300X"),
        ("1xH200", 1, "H200"),
    ],
)
def test_gpu_strings(text: str, count: int, device_id: str) -> None:
    spec = parse_hardware(text)
    assert (spec.count, spec.device.id) == (count, device_id)
    assert spec.label == f"{count}x{device_id}"


def test_cpu_and_apple_strings() -> None:
    cpu = parse_hardware("cpu:32GB")
    assert (cpu.device.kind, cpu.device.memory_gb, cpu.label) == ("cpu", 32, "cpu:32GB")
    apple = parse_hardware("apple:M3-Max-128GB")
    assert (apple.device.id, apple.device.memory_gb) == ("M3-Max", 128)
    assert apple.device.memory_bytes == int(128e9 * 0.75)  # the GPU working-set share
    assert parse_hardware("APPLE:m2_ultra_192gb").device.id == "M2-Ultra"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("2xL5", "L4"),
        ("1xH10-80GB", "H100-80GB"),
        ("apple:M3-Maxx-64GB", "apple:M3-MAX"),
        ("cpu:lots", "32GB"),
        ("apple:M4-Max-512GB", "at most 128GB"),
        ("0xL4", "between 1 and 64"),
        ("", "cpu:SIZE"),
    ],
)
def test_bad_strings_list_forms_and_close_matches(text: str, hint: str) -> None:
    with pytest.raises(HardwareParseError) as caught:
        parse_hardware(text)
    assert isinstance(caught.value, ValueError)
    assert hint in str(caught.value)


def test_unknown_device_message_lists_accepted_forms() -> None:
    with pytest.raises(HardwareParseError, match=r"\[COUNT x\]GPU .* cpu:SIZE .* apple:CHIP-SIZE"):
        parse_hardware("1xB9000")


def test_device_table_is_sourced_and_complete() -> None:
    ids = {device.id for device in known_devices()}
    assert {
        "H200",
        "H100-80GB-SXM",
        "H100-80GB-PCIE",
        "A100-40GB",
        "A100-80GB",
        "L40S",
        "L4",
        "A10G",
        "T4",
        "RTX-4090",
        "RTX-3090",
        "MI300X",
        "M2-Ultra",
        "M3-Max",
        "M4-Max",
        "CPU",
    } <= ids
    for device in known_devices():
        assert device.source and device.as_of
        assert device.bandwidth_gbps > 0
        assert (device.usd_per_hour is None) == (device.price_source is None)


def test_price_override() -> None:
    spec = parse_hardware("2xL4", usd_per_hour=0.5)
    assert spec.usd_per_hour == pytest.approx(1.0)
    assert spec.device.price_source == "user override"
