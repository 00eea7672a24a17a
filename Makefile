# flowdeck's verbs. Everything installs from this repository's own files (pyproject.toml, package.json).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SPECPIPE := $(BIN)/specpipe

.PHONY: install venv sdks generate spec-update spec-check spec-watch mutate test contract demo docs bench bench-scale soak soak-contention lint clean

install: venv node_modules/.installed

## The Python side alone: what the demo and the docs need (node and npm serve only the contract suites' Prism).
venv: $(VENV)/.installed

# specs/ is a development-only project (`specpipe`, never in the wheel). Installed after flowdeck,
# so that replacing a flowdeck that shipped a `specpipe` script cannot remove it.
$(VENV)/.installed: pyproject.toml specs/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e ./specs
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Rebuild specs/normalized/ from raw pages + overlays, print the change report, regenerate generated/.
generate: install
	$(SPECPIPE) generate

## A provider changed its spec: drop the new page into specs/raw/, then run this. It writes the report
## to specs/reports/, refuses breaking changes unless ACCEPT_BREAKING=1, and records the page only once
## the build, generation, type check and a drive of the facade against its mock all pass (a page that
## breaks them is refused whatever ACCEPT_BREAKING says).
spec-update: install
	$(SPECPIPE) update $(if $(filter 1,$(ACCEPT_BREAKING)),--accept-breaking)

## Fetch every provider page (specs/manifest.yaml) and report what changed: exit 0 unchanged,
## 3 changed, 1 breaking, 2 not fetched. SAVE=1 accepts changed pages as spec-update does.
spec-watch: install
	$(SPECPIPE) watch $(if $(filter 1,$(SAVE)),--save) $(if $(filter 1,$(ACCEPT_BREAKING)),--accept-breaking)

## Remove each overlay action in turn, regenerate in a scratch copy, and name the test that notices
## (exit 1 if any action survives). Many minutes; not part of `make test`.
mutate: install
	$(SPECPIPE) mutate

## Fail if raw hashes, normalized specs or generated/ drifted from specs/.
spec-check: install
	$(SPECPIPE) check

# pytest exits 5 when it collected nothing: a broken suite, not a pass. Bytecode is written even
# under PYTHONDONTWRITEBYTECODE: pytest caches its assertion rewriting only as bytecode, and every
# `flowdeck` subprocess a test starts would compile flowdeck and its generated clients again.
define run_pytest
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest $(1); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc
endef

## The whole suite: lint first (a changed generated signature fails there), then every test, the
## witness suite of the official SDKs included. The slowest are listed, so a slow test is seen when it
## lands. Three workers on two cores: much of the suite waits (subprocesses, mock runs, Prism), and a
## third worker runs tests in those waits; worksteal lets an idle worker take another's queue. Tests
## that time a pace run after, one at a time: no other worker's CPU may be what they measure.
test: install sdks lint
	$(call run_pytest,-n 3 --dist worksteal -m "not contention and not paced and not soak" --durations=25)
	$(call run_pytest,-m "(contention or paced) and not soak" tests)

## Only the contract suites (schemathesis vs the mocks, clients vs mocks and Prism, boundary
## properties), every example drawn: `make test` draws a fixed half of them.
contract: install sdks
	FLOWDECK_CONTRACT_FULL=1 $(call run_pytest,-n 2 --dist worksteal contract_tests)

demo: venv
	$(BIN)/flowdeck demo

## The documentation site, into site/; a broken link or reference fails the build.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## The 10,000-run fault soak (the suite runs smaller ones); prints the reliability page's table. Then the tests
## marked soak: the extra seeds and sizes of suite tests that `make test` runs one instance of.
soak: install
	PYTHONPATH=. $(PY) -m benchmarks.soak --runs 10000
	$(call run_pytest,-n 2 --dist worksteal -m soak)

## The async soak ITERATIONS times with two busy processes competing for the CPU, on each HTTP
## backend of the async client; fails at the first stall.
ITERATIONS ?= 20
BACKENDS ?= httpcore aiohttp
soak-contention: install
	for backend in $(BACKENDS); do \
		PYTHONPATH=. $(PY) -m benchmarks.soak --runs 2000 --contention 2 --iterations $(ITERATIONS) \
			--http-backend $$backend || exit 1; \
	done

## Benchmarks (ratios against raw httpx and the official SDKs, measured in one run) into bench-results/,
## which the documentation's performance page renders.
bench: install sdks
	PYTHONPATH=. $(PY) -m benchmarks.bench
	PYTHONPATH=. $(PY) -m benchmarks.bench_bulk
	PYTHONPATH=. $(PY) -m benchmarks.bench_scale --rows 10000 100000

## The cost curve's last point: a batch of 1,000,000 rows, first run and rerun (minutes), merged into
## bench-results/latest.json beside the 10,000 and 100,000 rows `make bench` measures.
bench-scale: install
	PYTHONPATH=. $(PY) -m benchmarks.bench_scale --rows 1000000

## The official databar and gumloop SDKs (the `sdks` extra's pins, never flowdeck) for the witness
## suite and the benchmarks. Their own venv: gumloop's jsonpath-python installs a `jsonpath` package
## over python-jsonpath's, which specpipe uses.
sdks: .venv-sdks/.installed

.venv-sdks/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-sdks
	.venv-sdks/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["sdks"]))' > .venv-sdks/requirements.txt
	.venv-sdks/bin/python -m pip install --quiet -r .venv-sdks/requirements.txt
	touch $@

lint: install
	$(BIN)/ruff check facade tests contract_tests benchmarks specs/specpipe conftest.py docs/_hooks
	$(BIN)/ruff format --check facade tests contract_tests benchmarks specs/specpipe conftest.py docs/_hooks
	$(BIN)/mypy

## What the verbs made, and nothing tracked: bench-results/ keeps its committed figures and chart.
clean:
	rm -rf $(VENV) .venv-sdks node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis .specpipe site build dist
	find bench-results -mindepth 1 -not -name latest.json -not -name throughput.svg -not -name cost_curve.svg -delete
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
	rm -rf *.egg-info
