# The two commands a new user needs: `make run` and `make test`.
# Both create .venv with the newest Python >= 3.12 they can find and install what they need.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8080
# serve and the Trigger Snippet read the gRPC port from PIPELINE_GRPC_PORT.
GRPC_PORT ?= $(or $(PIPELINE_GRPC_PORT),8081)
# The ASGI server, uvicorn or daphne: `make run SERVER=daphne` (serve reads PIPELINE_SERVER).
SERVER ?= $(or $(PIPELINE_SERVER),uvicorn)
# HTTP processes on the port: `make run WORKERS=4` (serve reads PIPELINE_SERVE_WORKERS).
WORKERS ?= $(or $(PIPELINE_SERVE_WORKERS),1)
# pip runs only when pyproject.toml is newer than the stamp of the extras installed.
# The stamps live in .venv: a new venv (a fresh clone, `make clean`) has none.
STAMP := $(VENV)/.installed

# Newest Python >= 3.12: PYTHON=... wins, then PATH, then pyenv's versions folder.
PYTHON ?= $(shell for c in python3.14 python3.13 python3.12; do \
	p=$$(command -v $$c 2>/dev/null) && $$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && { echo $$p; exit 0; }; done; \
	root=$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv); \
	for p in $$(ls -d $$root/versions/3.* 2>/dev/null | sort -t. -k2,2n -r); do \
	  [ -x $$p/bin/python3 ] && $$p/bin/python3 -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && { echo $$p/bin/python3; exit 0; }; done)

.PHONY: run test lint format install install-test bytecode bench bench-async bench-scaling bench-safety venv clean protos

$(VENV)/bin/python:
	@if [ -z "$(PYTHON)" ]; then echo "Pipeline needs Python 3.12 or newer (Django 6.1). Install one (e.g. 'pyenv install 3.13' or 'apt-get install python3.13') or pass PYTHON=/path/to/python3.12." >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

venv: $(VENV)/bin/python

$(STAMP)-scale: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[scale]'
	@touch $@

$(STAMP)-scale-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[scale,test]'
	@touch $@

# The project's own modules, byte-compiled (only those changed since). pip compiles what
# it installs into .venv, but the editable install leaves these in the checkout, where a
# process that may not write __pycache__ (PYTHONDONTWRITEBYTECODE, a read-only checkout)
# compiles them again on every start: ~0.4 s of CPU per start of serve.
bytecode: | $(VENV)/bin/python
	@$(PY) -m compileall -q manage.py instill_site pipelines benchmarks

install: $(STAMP)-scale bytecode

# install-system-deps.sh checks each package first and is quick when all are there.
install-test: $(STAMP)-scale-test bytecode
	@bash scripts/install-system-deps.sh

run: install
	PIPELINE_GRPC_PORT=$(GRPC_PORT) PIPELINE_SERVER=$(SERVER) PIPELINE_SERVE_WORKERS=$(WORKERS) $(PY) manage.py serve --port $(PORT)

test: install-test
	@bash scripts/test.sh

# The checks `make test` runs first: formatting, lint, types (configured in pyproject.toml).
lint: install-test
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy

# Fixes what can be fixed mechanically: formats, then applies ruff's safe fixes.
format: install-test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Trigger latency/throughput, a streamed trigger's first byte, file memory and start-up, then issue #19's table against Hayhooks and
# LangServe in the shared peer harness (BENCH_ROOT, default /tmp/bench; without the peers'
# venvs it says how to make them); async_trigger.py (1,000 async triggers,
# in-process vs PostgreSQL + Redis + Celery) with `make bench-async`.
bench: install-test
	$(PY) benchmarks/trigger.py
	$(PY) benchmarks/stream.py
	$(PY) benchmarks/upload_memory.py
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/peers.py

bench-async: install-test
	@bash scripts/install-system-deps.sh
	$(PY) benchmarks/async_trigger.py

# serve --workers N: sync triggers per second for N = 1 .. the cores, SQLite and PostgreSQL.
bench-scaling: install-test
	@bash scripts/install-system-deps.sh
	$(PY) benchmarks/scaling.py

# Safety under load (issue 13): liveness while runaway recipes run (about a minute), then
# a mixed soak, SOAK_MINUTES long after a one-minute warm-up (default 10: ~12 minutes in all).
SOAK_MINUTES ?= 10
bench-safety: install-test
	$(PY) benchmarks/liveness.py
	$(PY) benchmarks/soak.py --minutes $(SOAK_MINUTES)

# Regenerate pipelines/grpc/gen from pipelines/grpc/protos (the generated code is committed).
protos: install-test
	$(PY) scripts/gen_protos.py

clean:
	rm -rf $(VENV) data .pytest_cache
