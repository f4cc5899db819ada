# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= demo-out

.PHONY: install demo test bench clean

$(STAMP): requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) infer.py sample --num 16 --seed 0 --truncation 0.7 --out $(DEMO)/samples

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/generator_speed.py --out bench/results
	$(PY) bench/invert_speed.py --out bench/results
	$(PY) bench/encoder_speed.py --out bench/results

clean:
	rm -rf $(DEMO) .pytest_cache
