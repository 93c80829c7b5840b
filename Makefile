# Everything a newcomer needs: `make demo` (the main job) and `make test`.
# Both bootstrap .venv from nothing on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader shells out to `alembic`, which lives in the venv. One BLAS thread per process: tests
# and graded kernels run side by side on few cores, where spinning OpenBLAS threads stall NumPy.
RUN    := PATH="$(CURDIR)/$(BIN):$$PATH" MPLBACKEND=Agg OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

.PHONY: install demo test clean book self-study

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,data]'
	# The grading sandbox is bubblewrap (as root, or rootless in a user namespace). As root on
	# Debian/Ubuntu it is installed here; elsewhere `autograder grade` says what to install.
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }; }; } || \
	  echo "note: bubblewrap is not installed; \`autograder grade\` will refuse until it is (or run with --insecure)"
	touch $(STAMP)

demo: $(STAMP)
	$(RUN) $(BIN)/autograder demo

# The assignments for self-learners, into self-study/: hidden tests run the full check in their own
# kernel. Never into assignments/release/ (the instructor's).
self-study: $(STAMP)
	$(RUN) $(BIN)/autograder self-study

test: $(STAMP)
	$(RUN) $(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15

clean:
	rm -rf $(VENV) demo-output .pytest_cache

# The lecture site: execute every lecture and build static HTML into lectures/_build/html/.
# MathJax is vendored from npm (not Jupyter Book's CDN copy) so the site reads offline.
BOOK_STAMP      := $(VENV)/.book-installed
MATHJAX_VERSION := 3.2.2
MATHJAX         := lectures/_vendor/mathjax/tex-chtml.js

$(BOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,data,book]'
	touch $(BOOK_STAMP)

$(MATHJAX):
	rm -rf lectures/_vendor/mathjax && mkdir -p lectures/_vendor/mathjax
	tmp=$$(mktemp -d) && npm pack --silent --pack-destination $$tmp mathjax@$(MATHJAX_VERSION) >/dev/null \
	  && tar -xzf $$tmp/mathjax-$(MATHJAX_VERSION).tgz -C lectures/_vendor/mathjax --strip-components=2 package/es5 \
	  && rm -rf $$tmp
	test -f $(MATHJAX)

# --all re-executes every lecture: Sphinx would skip unchanged notebooks and keep outputs computed
# with an older `course`. The inline backend, not RUN's Agg, puts the figures into the outputs.
book: $(BOOK_STAMP) $(MATHJAX)
	$(RUN) MPLBACKEND=module://matplotlib_inline.backend_inline $(BIN)/jupyter-book build --all --quiet lectures/
	@echo "open lectures/_build/html/index.html"
