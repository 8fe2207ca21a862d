# fitq: `make up` runs the whole service locally, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test lint coverage mutation bench migrate clean compose-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[worker,embedded,search]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.run-installed

up: $(VENV)/.run-installed
	$(BIN)/fitq up

migrate: $(VENV)/.run-installed
	$(BIN)/fitq migrate

# Style and import order (ruff), the architecture's import contracts (import-linter, in
# pyproject.toml), and types on the layers other code calls (mypy: the store, the queue, the worker).
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Line coverage of the unit and integration tests, the processes they start included; docs/testing.md
# has the figures per package. Slower than make test (about twice), and not part of it.
coverage: $(VENV)/.dev-installed
	rm -f .coverage .coverage.*
	$(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m coverage combine -q
	$(BIN)/python -m coverage report

# Mutation testing (mutmut) of the claim, heartbeat and outcome writes, parameter validation and the
# batched passes: scripts/mutation, [tool.mutmut] in pyproject.toml; docs/testing.md has the figures.
# A measurement, not part of make test: about 25 minutes on 2 loaded cores. MUTATION_ARGS: mutant globs.
mutation: $(VENV)/.dev-installed
	$(BIN)/pip install -q 'mutmut>=3.8,<4'
	VENV=$(VENV) scripts/mutation $(MUTATION_ARGS)

# Builds both images and runs the compose stack in containers (Docker installed and started if need be),
# checks it and tears it down: tests/compose/. About 10 minutes on 2 cores; root, Debian bookworm.
compose-test: $(VENV)/.dev-installed
	$(BIN)/python -m tests.compose $(COMPOSE_TEST_ARGS)

# Benchmarks print tables and assert nothing; sized so that all three take under 5 minutes on 2 cores.
# A module not written yet is skipped with a message; one that fails does not stop the others but
# fails the target. bench.service needs PostgreSQL, as the integration tests do.
BENCH_LOOPS_ARGS ?= --repeat 1
BENCH_BATCHED_ARGS ?= --sizes 1,10,100,1000 --rounds 3 --rounds-within 120
BENCH_SERVICE_ARGS ?= --latency-jobs 100 --client-jobs 20 --unbatched-jobs 24

bench: $(VENV)/.dev-installed
	@status=0; \
	for bench in "loops $(BENCH_LOOPS_ARGS)" "batched $(BENCH_BATCHED_ARGS)" "service $(BENCH_SERVICE_ARGS)"; do \
	  set -- $$bench; name=$$1; shift; \
	  if [ -f bench/$$name.py ]; then \
	    echo "make bench: $(BIN)/python -m bench.$$bench"; \
	    $(BIN)/python -m bench.$$name "$$@" || status=1; \
	  else echo "make bench: bench/$$name.py does not exist yet; bench.$$name skipped"; fi; \
	done; \
	exit $$status

clean:
	rm -rf $(VENV) data .pytest_cache mutants
