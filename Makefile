# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fuzz-long crash-long clean chromium

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

test: $(STAMP) lint chromium
	$(BIN)/python -m pytest -m "not slow"

# The browser tests (tests/test_web_browser.py) drive Debian's chromium through Playwright;
# never `playwright install`, which downloads a browser.  Installed with apt when missing and
# running as root (as CI does on a clean machine); elsewhere those tests report themselves skipped.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "no $(CHROMIUM) and not root: the browser tests will be reported as skipped"; \
	  fi; \
	fi

# Longer runs for maintainers (README, "Testing").
fuzz-long: $(STAMP)
	FIELDKIT_FUZZ_EXAMPLES=200000 $(BIN)/python -m pytest -m slow tests -k fuzz

# 400 SIGKILLs of a writer process mid-append (tests/test_store_crash.py); a few minutes.
crash-long: $(STAMP)
	$(BIN)/python -m pytest -m slow tests/test_store_crash.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache artifacts
