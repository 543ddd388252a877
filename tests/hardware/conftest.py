"""Architectures of well-known models, written out so the tests do not depend on the catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from llmpick.catalog._schema import Architecture

_AS_OF = dt.date(2026, 11, 28)


def llama_31_70b() -> Architecture:
    """Llama 3.1 70B, from its config.json."""
    return Architecture(
        params_total_b=70.6,
        layers=80,
        hidden_size=8192,
        attention_heads=64,
        kv_heads=8,
        head_dim=128,
        vocab_size=128256,
        native_dtype="bf16",
        source="https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct/blob/main/config.json",
        as_of=_AS_OF,
    )


def llama_31_8b() -> Architecture:
    return Architecture(
        params_total_b=8.03,
        layers=32,
        hidden_size=4096,
        attention_heads=32,
        kv_heads=8,
        head_dim=128,
        vocab_size=128256,
        native_dtype="bf16",
        source="https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json",
        as_of=_AS_OF,
    )


def llama_31_405b() -> Architecture:
    return Architecture(
        params_total_b=405.9,
        layers=126,
        hidden_size=16384,
        attention_heads=128,
        kv_heads=8,
        head_dim=128,
        vocab_size=128256,
        native_dtype="bf16",
        source="https://huggingface.co/meta-llama/Llama-3.1-405B-Instruct/blob/main/config.json",
        as_of=_AS_OF,
    )


def gpt_oss_120b() -> Architecture:
    return Architecture(
        params_total_b=116.8,
        params_active_b=5.1,
        layers=36,
        hidden_size=2880,
        attention_heads=64,
        kv_heads=8,
        head_dim=64,
        vocab_size=201088,
        native_dtype="mxfp4",
        sliding_window=128,
        sliding_window_layers=18,
        source="https://huggingface.co/openai/gpt-oss-120b/blob/main/config.json",
        as_of=_AS_OF,
    )


@pytest.fixture
def llama70b() -> Architecture:
    return llama_31_70b()
