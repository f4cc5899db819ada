# The commands a newcomer runs: `make demo`, `make studio` and `make test`. Each creates .venv and installs first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   ?= demo-out

.PHONY: install demo studio studio-tour test bench clean

$(STAMP): requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install  # infer.py's defaults: the shipped generator and its encoder
	$(PY) infer.py sample --num 16 --seed 0 --truncation 0.7 --out $(DEMO)/samples
	$(PY) -m latentcat.examples $(DEMO)/examples
	$(PY) infer.py compare $(DEMO)/examples/photos/chelsea.png $(DEMO)/examples/photos/sample-a.png \
	    --methods encoder,hybrid,tuned,baseline --refine-steps 20 --tuned-refine-steps 20 --tune-generator 20 \
	    --baseline-steps 40 --refine-lr 0.02 --record-every 5 --drift-samples 8 --no-progress --out $(DEMO)/compare
	$(PY) infer.py interpolate $(DEMO)/examples/photos/chelsea.png $(DEMO)/examples/photos/sample-a.png \
	    --steps 20 --lr 0.02 --tune-generator 10 --frames 15 --no-progress --out $(DEMO)/interpolate
	$(PY) infer.py draw $(DEMO)/examples/scribble.png --samples 2 --steps 25 --no-progress --out $(DEMO)/draw
	$(PY) infer.py invert $(DEMO)/examples/photos/chelsea.png $(DEMO)/examples/photos/sample-a.png --steps 0 \
	    --generator checkpoints/stylegan2-grumpy64.safetensors --encoder checkpoints/encoder-cat64.safetensors \
	    --no-progress --out $(DEMO)/grumpify
	@echo "demo results: $(DEMO)/{samples,compare,interpolate,draw,grumpify} (grids, GIF, summary.json)"

studio: install  # the web page with the shipped models: open http://127.0.0.1:7860 (Ctrl+C stops it)
	$(PY) infer.py studio

studio-tour: install  # the studio used in a headless Chromium (Debian: chromium); screenshots in docs/
	$(PY) docs/studio_tour.py --out docs

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/generator_speed.py --out bench/results
	$(PY) bench/invert_speed.py --compile --out bench/results
	$(PY) bench/encoder_speed.py --compile --out bench/results

clean:
	rm -rf $(DEMO) .pytest_cache
