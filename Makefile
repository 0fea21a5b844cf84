# Two commands do all the set-up:   make lab   (open the course)   make test   (run every test)
# Both create or refresh .venv on first use, from the pinned lock file (requirements/lock.txt,
# the same versions on every platform and for every student); nothing else is installed by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements/lock.txt
# JupyterLab: loopback only by default (LAB_IP=0.0.0.0 to reach it from outside a container)
LAB_IP   ?= 127.0.0.1
LAB_PORT ?= 8888
TEST_WORKERS ?= 2
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
# Jupyter refuses to start as root without --allow-root (Docker containers, cloud VMs)
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# one run per claim: slides, claim tests and notebooks under test share it (dropoutcourse.claims)
export DROPOUTCOURSE_CLAIMS_CACHE ?= $(CURDIR)/.claims-cache

.PHONY: lab test lint lock slides homework site reproduce benchmark clean

# exactly the locked versions (every file checked against its hash), then the course package
# itself without dependencies: they are all in the lock
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' || { \
	  echo "PYTHON=$(PYTHON) is not Python 3.11 or 3.12 (the versions the lock is made for):"; \
	  echo "  run e.g. make $(MAKECMDGOALS) PYTHON=python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# the README opens rendered (not in the editor); no news/update checks (offline, no pop-up)
$(LAB_OVERRIDES): binder/overrides.json $(STAMP)
	mkdir -p $(@D) && cp $< $@

# Opens the README (the syllabus, with links to every notebook). The token is made here so
# that the URL can be printed before the server's own log; a busy port is an error (LAB_PORT=...)
lab: $(STAMP) $(LAB_OVERRIDES)
	@token=$$($(BIN)/python -c "import secrets; print(secrets.token_hex(24))"); \
	echo ""; \
	echo "  The course opens at  http://$(LAB_IP):$(LAB_PORT)/lab/tree/README.md?token=$$token"; \
	echo "  (stop the server with Ctrl+C)"; \
	echo ""; \
	JUPYTER_TOKEN=$$token exec $(BIN)/jupyter lab --ip=$(LAB_IP) --port=$(LAB_PORT) \
	  --ServerApp.port_retries=0 $(ALLOW_ROOT) README.md

# Re-pins requirements/lock.txt from pyproject.toml for every platform (universal, with hashes).
# Pins already in the lock are kept; `make lock UPGRADE=1` moves everything to the newest
# versions allowed (then re-run the notebooks and `make test`: their outputs come from the lock).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra all --universal --generate-hashes \
	  --python-version 3.11 $(if $(UPGRADE),--upgrade) -o $(LOCK)

# The slides (which train the claims into the cache, two at a time) and the homework build side
# by side, then the website; pytest runs on TEST_WORKERS processes (pytest-xdist), one test file
# or notebook at a time per process (a notebook's cells share one kernel, a file its fixtures).
test: $(STAMP)
	$(MAKE) -j2 site
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

slides: $(STAMP)
	$(BIN)/python slides/build.py

homework: $(STAMP)
	$(BIN)/python homework/build.py --jobs 2

# the course website (offline): syllabus, executed notebooks, decks + PDFs, homework (student
# versions) -> site/_build/html/index.html; publishing it: README ("The course website")
site: $(STAMP) slides homework
	$(BIN)/python site/build.py

reproduce: $(STAMP)
	$(BIN)/python -m dropoutcourse reproduce --out results/

benchmark: $(STAMP)
	$(BIN)/python benchmarks/fit_replicas_speed.py
	$(BIN)/python benchmarks/notebook_budget.py

clean:
	rm -rf $(VENV) .claims-cache slides/build slides/node_modules homework/dist site/_build results
