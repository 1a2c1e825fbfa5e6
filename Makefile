# koppelsim — the two set-up commands are `make sim` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: sim test scenarios bench venv clean

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## Start every simulator and the admin API (state in ./.koppelsim); Ctrl-C stops.
sim: venv
	$(BIN)/koppelsim sim $(ARGS)

## The whole test suite, in parallel: unit, functional and every scenario.
test: venv
	$(BIN)/python -m pytest -n auto -q $(ARGS)

## Only the YAML scenarios, with a progress line each.
scenarios: venv
	$(BIN)/koppelsim run scenarios $(ARGS)

## Benchmarks (never part of `make test`): prints figures and ratios. Installs vsftpd (the CB
## comparison) when it can; without it that comparison is skipped and says so.
bench: venv
	bench/install-tools
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .koppelsim .koppelsim-client build *.egg-info
