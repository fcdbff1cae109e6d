# The two commands: `make run` (the dev stack with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/pip install -q --disable-pip-version-check

.PHONY: venv run test histories clean

venv: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# `make run` needs only the product; `make test` adds the test tools. Each re-installs when pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e ".[test]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(VENV)/bin/python -m devstack

test: $(VENV)/.installed-test
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Re-record the workflow histories under tests/histories/ (replayed by tests/workflows/test_replay_histories.py).
histories: $(VENV)/.installed-test
	PILLAR_RECORD_HISTORIES=1 $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf .pillar
