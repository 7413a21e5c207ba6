# Swarm Explorer: `make demo`, `make run`, `make test`. Each sets up the project virtualenv first (.venv).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install outlines run demo test test-postgres bench bench-quick clean

install: $(STAMP) outlines

# the overview globe's world outlines in static/vendor/topojson/ (git-ignored): plotly.js's dist/topojson of the
# version plotly bundles, fetched with npm and checked against its pinned sha512 (explorer/outlines.py); a no-op when
# in place, fetched again when the version changes; without npm a warning, and the globe draws without outlines.
outlines: $(STAMP)
	$(PY) -m explorer.outlines

# torch first, pinned: the CPU wheel (plain `torch` would pull gigabytes of CUDA packages); then the runtime lock and
# the test and benchmark tools' lock (the image installs requirements.lock only); then petals without its dependencies
# (its pins conflict with hivemind 1.1.12; swarm/compat.py bridges them).
$(STAMP): requirements.lock requirements-dev.lock Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q torch==2.13.0
	$(PIP) install --disable-pip-version-check -q -r requirements.lock -r requirements-dev.lock
	$(PIP) install --disable-pip-version-check -q --no-deps petals==2.2.0.post1
	touch $(STAMP)

run: install
	$(PY) manage.py runstack

demo: install
	$(PY) manage.py runstack --demo

# PYTEST_ARGS: a selection, e.g. PYTEST_ARGS='-m "not swarm"' (CI's second run uses one)
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(PY) -m pytest

# every benchmark under bench/, one after another (about 40 minutes on 2 cores); each starts what it measures, stops it,
# and writes its own section of BENCHMARKS.md. They use PostgreSQL and Redis on this machine (BENCH_POSTGRES_URL,
# BENCH_REDIS_URL). bench-quick: a smoke run of each that writes nothing.
BENCHES := crawl_scale crawl_truth history_scale page_sizes web_load site_under_load ws_fanout live_lag vantage_fanout
bench: install
	for name in $(BENCHES); do $(PY) -m bench.$$name || exit 1; done
	$(PY) -m bench.probe_overhead --repeats 20 --tokens 16

bench-quick: install
	for name in $(BENCHES); do $(PY) -m bench.$$name --quick || exit 1; done

clean:
	rm -rf $(VENV) var
