# The two commands: `make run` (the dev stack with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: venv run test histories clean

venv: $(STAMP)

# Re-installs only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e ".[test]"
	touch $(STAMP)

run: venv
	$(VENV)/bin/python -m devstack

test: venv
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# Re-record the workflow histories under tests/histories/ (replayed by tests/test_replay_histories.py).
histories: venv
	PILLAR_RECORD_HISTORIES=1 $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf .pillar
