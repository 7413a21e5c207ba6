# Swarm Explorer: `make demo`, `make run`, `make test`. Each sets up the project virtualenv first (.venv).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install run demo test test-postgres bench clean

install: $(STAMP)

# torch first, pinned: the CPU wheel (plain `torch` would pull gigabytes of CUDA packages); then the lock;
# then petals without its dependencies (its pins conflict with hivemind 1.1.12; swarm/compat.py bridges them).
$(STAMP): requirements.lock Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q torch==2.13.0
	$(PIP) install --disable-pip-version-check -q -r requirements.lock
	$(PIP) install --disable-pip-version-check -q --no-deps petals==2.2.0.post1
	touch $(STAMP)

run: install
	$(PY) manage.py runstack

demo: install
	$(PY) manage.py runstack --demo

test: install
	$(PY) -m pytest

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) -m pytest

# benchmarks under bench/ (each starts what it measures and writes its section of BENCHMARKS.md)
bench: install
	$(PY) -m bench.probe_overhead --repeats 20 --tokens 16

clean:
	rm -rf $(VENV) var
