# Two commands do all the set-up:   make lab   (open the course)   make test   (run every test)
# Both create or refresh .venv on first use; nothing else needs installing by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# one run per claim: slides, claim tests and notebooks under test share it (dropoutcourse.claims)
export DROPOUTCOURSE_CLAIMS_CACHE ?= $(CURDIR)/.claims-cache

.PHONY: lab test lint slides homework reproduce benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP) slides
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

slides: $(STAMP)
	$(BIN)/python slides/build.py

homework: $(STAMP)
	$(BIN)/python homework/build.py

reproduce: $(STAMP)
	$(BIN)/python -m dropoutcourse reproduce --out results/

benchmark: $(STAMP)
	$(BIN)/python benchmarks/engine_speed.py
	$(BIN)/python benchmarks/notebook_budget.py

clean:
	rm -rf $(VENV) .claims-cache slides/build slides/node_modules homework/dist results
