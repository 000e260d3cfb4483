# musiclab — two commands: `make lab` runs the kit, `make test` tests it.
# Both do every set-up step themselves, and are quick when everything is already there.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.musiclab-installed
# Debian packages: libfluidsynth3 (real synthesis), mma (drum grooves), abcmidi (fast ABC parsing).
DEBS      := libfluidsynth3 mma abcmidi
TEST_DEBS := chromium
LAB_ARGS  ?=
LAB_DIR   ?= notebooks
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test setup system-deps test-system-deps unit notebooks bench student book clean help

help:
	@echo "make lab    set up (first time) and start JupyterLab on notebooks/"
	@echo "make test   set up (first time) and run unit tests + every notebook under nbval"
	@echo "make bench  run the benchmarks (tables + bench/results/*.json)"
	@echo "make student  write student copies of the notebooks (no outputs, no solutions) to build/student/"
	@echo "make book   build the browsable HTML book of the notebooks in build/book/ (offline)"

lab: setup
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) $(ALLOW_ROOT) $(LAB_ARGS)

# `make test` also builds the student copies and the book (CI runs both; their tests check them).
test: setup test-system-deps student book
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

unit: setup
	$(BIN)/python -m pytest tests -m "not browser"

notebooks: setup
	$(BIN)/python -m pytest notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg

book: setup
	$(BIN)/python tools/book.py build/book

bench: setup
	@for b in bench/*.py; do q=$$(grep -q -- '"--quick"' $$b && echo --quick); echo "== $$b $$q"; $(BIN)/python $$b $$q || exit 1; done

# Student copies: outputs stripped, each "# SOLUTION NN.k" cell swapped for its stub (tools/student.py).
# tests/test_student_copies.py (part of `make test`) builds them and runs each top to bottom.
student: setup
	$(BIN)/python tools/student.py notebooks build/student

setup: system-deps $(STAMP)

# pyproject pins torch==2.13.0, which this kind of machine has as a CPU build on disk.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

system-deps:
	@bash .ci/install-debs.sh $(DEBS)

test-system-deps:
	@bash .ci/install-debs.sh $(TEST_DEBS)

clean:
	rm -rf $(VENV) .pytest_cache musiclab.egg-info
