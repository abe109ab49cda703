# Two commands on a fresh machine (see README): `make run` and `make test`. Both create .venv first.
# `make run` and `make demo` install the bot alone (what it needs to run); `make install` and `make test` add the
# test tools (pytest, hypothesis, playwright, ruff, ...) for development and CI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run demo test install install-bot lint lock bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The bot and what it needs at run time: pyproject's [project] dependencies only.
$(VENV)/.installed-bot: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Everything for development and CI: the bot with the [test] extra.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-bot

install-bot: $(VENV)/.installed-bot

install: $(VENV)/.installed

run: install-bot
	$(BIN)/python -m bot

demo: install-bot
	$(BIN)/python -m demo

# constraints.txt again from the newest versions pyproject.toml allows, installed in a throwaway venv.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	PIP_CONSTRAINT= .lock-venv/bin/python -m pip install --quiet -e '.[test]'
	head -3 constraints.txt > constraints.new
	.lock-venv/bin/python -m pip freeze --exclude-editable >> constraints.new
	mv constraints.new constraints.txt && rm -rf .lock-venv

lint: install
	$(BIN)/ruff check .

# Four pytest-xdist workers on two cores: many tests wait on a socket or a subprocess, so four keep both cores busy;
# each worker starts its own PostgreSQL (tests/postgres.py) and copies its own migrated SQLite file.
TEST_WORKERS ?= 4

test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

bench: install
	$(BIN)/python -m bench

bench-quick: install
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
