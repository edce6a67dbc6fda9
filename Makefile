# SRO Connect. The README's two commands:
#   make run    set up what is missing, then start everything (a local demo without a token)
#   make test   set up what is missing, then lint, type-check and run the whole test suite
# Set-up is incremental: venvs are rebuilt only when their lock files change,
# the NLU model only when config.yml, nlu/data/ or its components change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA_VENV := nlu/.venv
PIP_FLAGS := --quiet --disable-pip-version-check --no-input

export RASA_TELEMETRY_ENABLED := false
export PIP_NO_WARN_SCRIPT_LOCATION := 1

.PHONY: help setup run demo-reset test test-fast lint typecheck pytest docs-check nlu-eval nlu-eval-diet bench-nlu bench-storage bench-load bench-evidence bench-fuzz dashboard-shots clean

help:
	@echo "make run        start SRO Connect (local demo when TELEGRAM_BOT_TOKEN is unset)"
	@echo "make test       lint, type-check and run the whole test suite"
	@echo "make test-fast  only the fast tier: unmarked tests (SQLite; no Rasa server, PostgreSQL, browser, OCR or long runs)"
	@echo "make demo-reset delete the local demo's state (var/demo.db, its key, var/demo/): the next run starts afresh"
	@echo "make nlu-eval   evaluate the NLU model; writes docs/nlu-report.md"
	@echo "make nlu-eval-diet  DIET over 5 folds, resumable (hours, at nice 19); its section of docs/nlu-report.md"
	@echo "make bench-nlu  benchmark the Rasa server and the classifier; writes docs/benchmarks.md"
	@echo "make bench-storage, make bench-load   the case store; many students at once"
	@echo "make bench-evidence  strip, seal, open and OCR images (docs/benchmarks.md)"
	@echo "make bench-fuzz 100,000 generated Telegram updates fed to the bot"
	@echo "make dashboard-shots  screenshots of every dashboard page (docs/dashboard/, shown in docs/dashboard.md)"
	@echo "make setup      only set up (venvs, trained model)"

# --- set-up -----------------------------------------------------------------

$(VENV)/.installed: requirements.lock pyproject.toml
	@echo "setup: application venv ($(VENV))"
	@[ -x $(PY) ] || "$$(scripts/find-python 3.11+)" -m venv $(VENV)
	@$(PY) -m pip install $(PIP_FLAGS) -r requirements.lock 2> >(grep -v "is ignored: it is neither" >&2 || true)
	@$(PY) -m pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e . 2> >(grep -v "is ignored: it is neither" >&2 || true)
	@touch $@

$(RASA_VENV)/.installed: nlu/requirements.lock
	@echo "setup: Rasa venv ($(RASA_VENV), Python 3.10; first time takes a few minutes)"
	@[ -x $(RASA_VENV)/bin/python ] || "$$(scripts/find-python 3.10)" -m venv $(RASA_VENV)
	@$(RASA_VENV)/bin/python -m pip install $(PIP_FLAGS) -r nlu/requirements.lock 2> >(grep -v -e "is ignored: it is neither" -e "DEPRECATION" >&2 || true)
	@touch $@

var/nlu-token:
	@mkdir -p var && chmod 700 var
	@umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(32))" > $@

setup: $(VENV)/.installed $(RASA_VENV)/.installed var/nlu-token
	@scripts/system-packages
	@$(PY) -m nlu.train

# --- the two commands -----------------------------------------------------------

run: setup
	@scripts/run

# The demo keeps its database between runs; this forgets it (leave the demo first).
demo-reset: $(VENV)/.installed
	@$(PY) -m devtools.demo --reset

test: setup lint typecheck pytest docs-check

lint: $(VENV)/.installed
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .

typecheck: $(VENV)/.installed
	@$(PY) -m mypy

pytest: $(VENV)/.installed
	@rm -rf var/transcripts
	@eval "$$(scripts/test-postgres)" && PTB_TIMEDELTA=true PYTHONUNBUFFERED=1 $(PY) -m pytest $(PYTEST_ARGS)

# The fast tier: tests with none of the markers below (pyproject.toml lists them). No Rasa server is
# started: only rasa-marked tests may use it (tests/conftest.py refuses any other).
FAST_TIER := not rasa and not browser and not ocr and not slow and not postgres

test-fast: $(VENV)/.installed
	@PTB_TIMEDELTA=true PYTHONUNBUFFERED=1 $(PY) -m pytest -m "$(FAST_TIER)" $(PYTEST_ARGS)

# docs/conversation.md is generated from bot/flow.py and the end-to-end tests' transcripts.
docs-check: $(VENV)/.installed
	@$(PY) -m devtools.conversation_doc --check

# --- measurement ----------------------------------------------------------------

nlu-eval: setup
	@$(PY) -m devtools.nlu_eval.evaluate

# Hours: one DIET training per fold, each saved as it finishes (devtools/nlu_eval/results/); a rerun resumes.
nlu-eval-diet: setup
	@nice -n 19 $(PY) -m devtools.nlu_eval.diet_folds --run --write

bench-nlu: setup
	@$(PY) -m devtools.bench.nlu

bench-storage: setup
	@eval "$$(scripts/test-postgres)" && $(PY) -m devtools.bench.storage

bench-evidence: setup
	@$(PY) -m devtools.bench.evidence

bench-load: setup
	@PTB_TIMEDELTA=true $(PY) -m devtools.bench.load

bench-fuzz: $(VENV)/.installed
	@PTB_TIMEDELTA=true $(PY) -m tests.bot.fuzz_bench

# The dashboard's pages in Debian's Chromium, seeded through the domain API (tests/web/test_browser.py).
dashboard-shots: $(VENV)/.installed
	@SRO_DASHBOARD_SHOTS=docs/dashboard $(PY) -m pytest -q -p no:cacheprovider \
		"tests/web/test_browser.py::test_every_page_on_a_fixed_day_gives_the_same_screenshots"

clean:
	rm -rf $(VENV) $(RASA_VENV) models/*.tar.gz models/*.inputs models/*.joblib var/rasa-cache
