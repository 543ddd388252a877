"""How long loading the bundled catalog takes, cold (new process) and per YAML parser.

Run: .venv/bin/python benchmarks/bench_catalog.py

Prints: the cold `load_catalog()` time in a fresh interpreter (imports included, what every CLI
command pays), the warm (cached) time, and the parse time of all bundled files with libyaml
(what llmpick uses), PyYAML's pure-Python loader and ruamel.yaml's safe loader.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from ruamel.yaml import YAML

from llmpick.catalog._loader import bundled_files
from llmpick.catalog._schema import CatalogEntry
from llmpick.catalog._yaml import parse_yaml

_COLD = (
    "import time; t = time.perf_counter(); from llmpick.catalog import load_catalog; "
    "c = load_catalog(); a = time.perf_counter(); load_catalog(); b = time.perf_counter(); "
    "print(len(c), a - t, b - a)"
)


def _best_of(runs: int, action: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    colds, warm, count = [], 0.0, 0
    for _ in range(5):
        out = subprocess.run(
            [sys.executable, "-c", _COLD], check=True, capture_output=True, text=True
        ).stdout.split()
        count, cold, warm = int(out[0]), float(out[1]), float(out[2])
        colds.append(cold)
    print(
        f"{count} models: cold load (imports + parse + validate) median "
        f"{statistics.median(colds) * 1000:.0f} ms; cached {warm * 1e6:.0f} µs"
    )

    texts = [item.read_text(encoding="utf-8") for _, item in bundled_files()]
    libyaml = _best_of(5, lambda: [parse_yaml(t, "x") for t in texts])
    ruamel = _best_of(3, lambda: [YAML(typ="safe").load(t) for t in texts])
    data = [parse_yaml(t, "x") for t in texts]
    validate = _best_of(5, lambda: [CatalogEntry.model_validate(d) for d in data])
    print(
        f"parse {len(texts)} files: libyaml {libyaml * 1000:.0f} ms, "
        f"ruamel.yaml {ruamel * 1000:.0f} ms; validate {validate * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
