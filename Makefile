# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the demo needs vpcflow and moto's server (moto, flask, flask-cors: the EC2, IAM, Logs, STS and S3 it
# serves need no more) but not the test tools (Spark, linters, moto's other extras): a quicker first run.
# --no-compile: Python compiles only the modules the demo imports, on first use (15 of 37 CPU seconds saved)
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: install demo test lint typecheck unit clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP) $(DEMO_STAMP)

# an up-to-date full install (make test's) already has all the demo needs: nothing is installed again
$(DEMO_STAMP): pyproject.toml constraints.txt
	@if [ -f $(STAMP) ] && [ $(STAMP) -nt pyproject.toml ] && [ $(STAMP) -nt constraints.txt ]; then \
	  touch $(DEMO_STAMP); \
	else \
	  $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/pip install -q --no-compile -c constraints.txt -e . moto flask flask-cors && \
	  touch $(DEMO_STAMP); \
	fi

install: $(STAMP)

demo: $(DEMO_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2

test: lint typecheck unit

clean:
	rm -rf $(VENV) build *.egg-info demo-out
