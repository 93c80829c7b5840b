# Everything a newcomer needs: `make demo` (the main job) and `make test`.
# Both bootstrap .venv from nothing on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader shells out to `alembic`, which lives in the venv.
RUN    := PATH="$(CURDIR)/$(BIN):$$PATH" MPLBACKEND=Agg

.PHONY: install demo test clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,data]'
	touch $(STAMP)

demo: $(STAMP)
	$(RUN) $(BIN)/autograder demo

test: $(STAMP)
	$(RUN) $(BIN)/python -m pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) demo-output .pytest_cache
