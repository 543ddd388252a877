"""A PEFT LoRA adapter written as a llama.cpp LoRA GGUF, so a tuned model runs in the runtime
its base runs in (same kernels, same prefix reuse) and latency and cost compare like for like.

The adapter was trained on the base GGUF as transformers reads it. For the `llama`
architecture transformers undoes the row order llama.cpp's converter gives the query and key
projections (rotary halves interleaved per head); the LoRA B matrices of those projections
get that order back here, so `B @ A` lines up with the GGUF's own rows. Architectures whose
projections transformers reads unchanged (Gemma 3 among them) need nothing; any other is
refused with the reason, and the adapter then runs in transformers instead.

Needs only `gguf`, `safetensors` and NumPy (the `tune` extra): no torch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from llmpick.tuning._errors import TuningError

__all__ = ["LORA_GGUF_NAME", "write_lora_gguf"]

LORA_GGUF_NAME = "adapter.gguf"

# Architectures whose query/key rows transformers re-orders on reading a GGUF (its
# LlamaTensorProcessor), and those whose attention projections it reads as they are (no
# tensor processor, or one that only shifts norm weights); only llama is tested end to end.
_PERMUTED = {"llama"}
_AS_IS = {"gemma2", "gemma3", "qwen2", "qwen3"}
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")


def write_lora_gguf(adapter_dir: Path, base_gguf: Path) -> Path:
    """Write `adapter_dir/adapter.gguf` from the PEFT adapter there, for the weights in
    `base_gguf`; returns its path. Raises `TuningError` when llama.cpp could not apply it
    faithfully (an architecture not handled here, a module it has no tensor for)."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    reader = gguf.GGUFReader(str(base_gguf))
    arch = _field(reader, "general.architecture")
    if arch not in _PERMUTED | _AS_IS:
        raise TuningError(
            f"no LoRA GGUF for architecture {arch!r}: its tensor layout is not mapped here"
        )
    n_head = int(_field(reader, f"{arch}.attention.head_count"))
    n_head_kv = int(_field(reader, f"{arch}.attention.head_count_kv") or n_head)
    n_blocks = int(_field(reader, f"{arch}.block_count"))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], n_blocks)
    present = {t.name for t in reader.tensors}

    tensors: dict[str, Any] = {}
    for key, value in load_file(str(adapter_dir / "adapter_model.safetensors")).items():
        match = _PEFT_KEY.match(key)
        if match is None:
            raise TuningError(f"{adapter_dir}: unexpected adapter tensor {key!r}")
        module, ab = match["module"], match["ab"]
        base_name = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if base_name is None or base_name not in present:
            raise TuningError(f"{base_gguf.name} has no tensor for adapted module {module!r}")
        data = value.astype(np.float32)
        if ab == "B" and arch in _PERMUTED:
            if module.endswith(".q_proj"):
                data = _permute(data, n_head)
            elif module.endswith(".k_proj"):
                data = _permute(data, n_head_kv)
        tensors[f"{base_name}.lora_{ab.lower()}"] = np.ascontiguousarray(data)

    out = adapter_dir / LORA_GGUF_NAME
    partial = out.with_suffix(".gguf.partial")
    writer = gguf.GGUFWriter(str(partial), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    for name in sorted(tensors):
        writer.add_tensor(name, tensors[name])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)
    return out


def _permute(rows: Any, n_head: int) -> Any:
    """llama.cpp's converter's order of a query/key projection's output rows (per head, the
    two rotary halves interleaved); the inverse of transformers' reverse permutation."""
    half = rows.shape[0] // n_head // 2
    return rows.reshape(n_head, 2, half, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    return None if field is None else field.contents()
