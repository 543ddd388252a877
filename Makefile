# Two entry points for a fresh machine (see README.md):
#   make demo   runs llmpick on the bundled quickstart, offline, with the local models
#   make test   runs lint, format check, type check and the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.llmpick-installed
# llama.cpp is built for this CPU, but without Intel AMX: on a development machine of this project
# (a CPU with AMX) its AMX kernels crashed llama_decode with a segmentation fault on any prompt of
# 4 tokens or more (llama-cpp-python 0.3.36); built without them it works. AVX-512 stays on.
NO_AMX := -mno-amx-tile\ -mno-amx-int8\ -mno-amx-bf16
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DCMAKE_C_FLAGS=$(NO_AMX) -DCMAKE_CXX_FLAGS=$(NO_AMX)

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo ">> Installing llama-cpp-python. The first set-up on a machine compiles llama.cpp"
	@echo ">> (about 8-10 minutes on 2 cores); pip caches the wheel, so later set-ups take seconds."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --verbose 'llama-cpp-python[server]>=0.3.8' 2>&1 \
		| grep --line-buffered -E '^\s*\[ *[0-9]+%\]|Successfully|Requirement already|ERROR|error:' || true
	$(PY) -c 'import llama_cpp' || (echo "llama-cpp-python failed to install" && exit 1)
	@echo ">> Installing the tune extra (torch 2.13.0 CPU build, transformers, PEFT) for the tuned candidate"
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[local,dev,eval,tune]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/llmpick decide examples/quickstart/llmpick.yaml

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: lint typecheck
	$(VENV)/bin/pytest -q

# Speed measurements (not tests); each script's docstring says what it measures and its targets.
bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo ">> $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
