# Two entry points for a fresh machine (see README.md):
#   make demo   runs llmpick on the bundled quickstart, offline, with the local models
#   make test   runs lint, format check, type check and the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.llmpick-installed

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo ">> Installing llama-cpp-python. The first set-up on a machine compiles llama.cpp"
	@echo ">> (about 8-10 minutes on 2 cores); pip caches the wheel, so later set-ups take seconds."
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" $(PY) -m pip install --verbose 'llama-cpp-python[server]>=0.3.8' 2>&1 \
		| grep --line-buffered -E '^\s*\[ *[0-9]+%\]|Successfully|Requirement already|ERROR|error:' || true
	$(PY) -c 'import llama_cpp' || (echo "llama-cpp-python failed to install" && exit 1)
	$(PY) -m pip install --quiet -e '.[local,dev,eval]'
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
