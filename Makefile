# Two entry points on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Where `make install` links the newswatch command: a folder on your PATH.
BINDIR ?= $(HOME)/.local/bin

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test check install lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint requirements.lock --editable '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/newswatch demo

# Test modules run on every core (pytest-xdist); a module's tests stay together, in order. Modules start in
# file order, not by their number of tests: the few-test modules are the slow ones, and started last they ran alone.
PARALLEL := -n auto --dist loadscope --no-loadscope-reorder

test: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL)

# The fast layer: every test but those marked slow (the Prefect API, processes and servers of their own).
check: $(STAMP)
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow"

# `newswatch` on your PATH without activating .venv: a link to .venv's script in $(BINDIR).
install: $(STAMP)
	mkdir -p $(BINDIR)
	ln -sf $(abspath $(BIN))/newswatch $(BINDIR)/newswatch
	@case ":$$PATH:" in *":$(BINDIR):"*) echo "newswatch is on your PATH: try newswatch --help";; \
	  *) echo "add $(BINDIR) to your PATH (e.g. in ~/.profile: export PATH=\"$(BINDIR):\$$PATH\")";; esac

# Re-pin every dependency after changing pyproject.toml: make lock, then commit requirements.lock.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^newswatch' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache newswatch-demo.db*
