# FER Bias Lab: `make run` starts the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: venv run test test-fast bench clean-venv

venv: $(STAMP)

$(STAMP): requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps "fer==25.10.3"
	$(PY) -c "import tensorflow, cv2, streamlit, fer, mtcnn, ultralytics" 2>/dev/null
	touch $(STAMP)

run: venv
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true --server.fileWatcherType none

# two workers (pytest-xdist), each file on one worker so module fixtures are built once
TEST_ARGS ?= -n 2 --dist loadfile

test: venv
	$(PY) -m pytest -q $(TEST_ARGS) tests

test-fast: venv
	$(PY) -m pytest -q $(TEST_ARGS) -m "not slow" tests

bench: venv
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
