# The two set-up commands of the README:
#   make run    installs postpipe in .venv and runs the main job on the sample posts
#   make test   installs the test dependencies and runs every test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/postpipe build
	$(BIN)/postpipe publish
	$(BIN)/postpipe send --due
	@echo
	@echo "Blog preview build:  build/site/index.html   newsletters: build/newsletters/"
	@echo "Published site:      public/                 sent newsletters (.eml): outbox/"
	@echo "State of each post:  $(BIN)/postpipe status"

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src
	$(BIN)/mypy src

docs: $(VENV)/.installed
	$(BIN)/python -m postpipe.config env > .env.example
	$(BIN)/python -m postpipe.config readme README.md

clean:
	rm -rf build public outbox .postpipe
