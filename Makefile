# Two front doors: `make run` (set up, then serve the dashboard on http://localhost:5001)
# and `make test` (set up, then run every test). Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run serve-api test lint bench

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --editable .
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/streamlit run dashboard/server.py

# POST /api/predict alone, one worker per core, on port 5002 (DIGITS_API_PORT=... to change it).
serve-api: $(STAMP)
	$(BIN)/python -m dashboard.api_service

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/hadolint Dockerfile

bench: $(STAMP)
	$(BIN)/python -m bench.predict_latency
	$(BIN)/python -m bench.train_throughput
	$(BIN)/python -m bench.placement
	$(BIN)/python -m bench.number_reading
	$(BIN)/python -m bench.styles
	$(BIN)/python -m bench.uci_digits
	$(BIN)/python -m bench.browser_latency
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.class_load --validate 5
	$(BIN)/python -m bench.api_load
	$(BIN)/python -m bench.school --replicas 1,2 --students 100,200
	$(BIN)/python -m bench.api_wrk
