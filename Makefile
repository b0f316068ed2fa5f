# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fuzz-long crash-long clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,compare]'
	touch $(STAMP)

# The whole story on simulated radios, emulated devices and phones (fieldkit demo --help).
demo: $(STAMP)
	$(BIN)/fieldkit demo

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -m "not slow"

# Longer runs for maintainers (README, "Testing").
fuzz-long: $(STAMP)
	FIELDKIT_FUZZ_EXAMPLES=200000 $(BIN)/python -m pytest -m slow tests -k fuzz

# 400 SIGKILLs of a writer process mid-append (tests/test_store_crash.py); a few minutes.
crash-long: $(STAMP)
	$(BIN)/python -m pytest -m slow tests/test_store_crash.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
