# The two commands: `make run` (set up and serve the demo) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKER_STAMP := $(VENV)/.worker-installed
# The CPU build (it lies on this project's machines); on a GPU box install a CUDA torch first.
TORCH ?= torch==2.13.0

.PHONY: run test install worker-deps clean-db bench docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# torch + transformers for the generation worker (tests need them; the web app does not).
$(WORKER_STAMP): $(STAMP)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q --disable-pip-version-check '$(TORCH)'
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,worker,interop]'
	touch $(WORKER_STAMP)

worker-deps: $(WORKER_STAMP)

# Without DATABASE_URL an embedded PostgreSQL is started under ./var/pg.
run: $(STAMP)
	$(BIN)/derivlab serve

# Without DATABASE_URL the tests start an embedded PostgreSQL under ./var/test-pg.
# Browser tests need Debian's chromium (apt-get install chromium); .ci/run installs it.
test: $(STAMP) $(WORKER_STAMP)
	$(BIN)/python -m pytest

# The README's screenshots, taken by the browser tests.
screenshots: $(STAMP) $(WORKER_STAMP)
	DERIVLAB_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/e2e -q -k "annotate or dashboards or data_browser"

# The documentation site (docs/, mkdocs.yml) into var/site; --strict: a broken link fails.
docs: $(STAMP)
	$(BIN)/python -c "import mkdocs, material" 2>/dev/null || $(BIN)/pip install -q --disable-pip-version-check -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# Forget the embedded database (its data and the demo passwords).
clean-db:
	rm -rf var/pg

# Benchmarks print their figures (ratios measured in one run); they assert nothing.
bench: $(STAMP) $(WORKER_STAMP)
	$(BIN)/python bench/hot_path.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/checker_corpus.py --families 400
	$(BIN)/python bench/checker_corpus.py --corpus authors
	$(BIN)/python bench/queue.py
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/symbolic_metric.py
	$(BIN)/python bench/load.py
