# `make run` sets everything up on a fresh machine and serves the app (gunicorn, gunicorn.conf.py,
# and the background job worker, through scripts/serve.py); `make dev` serves it with Flask's
# development server instead; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi:app
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# The browser tests drive Debian's Chromium (no browser download works here); CJK fonts so the
# screenshots show Chinese text.
CHROMIUM := /usr/bin/chromium
# The job tests also run on RQ with a real Redis (tests/core/test_jobs_rq.py starts its own).
REDIS_SERVER := /usr/bin/redis-server

# Job worker processes `make run` and `make dev` start beside the web server (`flask jobs worker`).
JOB_WORKERS ?= 1

.PHONY: run dev setup test fuzz-long lint format deadcode bench clean-db browser wheelhouse

run: setup
	@echo "Serving on http://127.0.0.1:5000 with gunicorn and $(JOB_WORKERS) job worker(s)  (Ctrl-C to stop)"
	WARM_UP=1 JOB_WORKERS=$(JOB_WORKERS) $(PY) scripts/serve.py --job-workers $(JOB_WORKERS)

# Flask's development server: reloads on code changes, shows the debugger; never for production.
dev: setup
	@echo "Development server on http://127.0.0.1:5000  (Ctrl-C to stop)"
	WARM_UP=1 $(PY) scripts/serve.py --dev --job-workers $(JOB_WORKERS)

# An offline install bundle in dist/wheelhouse/: every pinned wheel, torch (CPU), the model's
# source, checksums and install.sh (README "Deployment").
wheelhouse: $(VENV)/.installed
	$(PY) scripts/wheelhouse.py

setup: $(VENV)/.installed
	$(FLASK) keys init
	$(FLASK) db upgrade
	$(FLASK) embeddings install-model
	$(FLASK) demo load --if-empty
	$(FLASK) embeddings rebuild
	$(FLASK) search reindex --if-missing

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

test: $(VENV)/.installed-dev $(CHROMIUM) $(REDIS_SERVER)
	$(PY) -m pytest -n 2 --dist loadgroup -q

# The fuzz suite (tests/fuzz, README "Fuzz tests") with 400 random examples per route instead of
# `make test`'s 20 with a fixed seed: hours, not minutes.
fuzz-long: $(VENV)/.installed-dev
	$(PY) -m pytest -q tests/fuzz --hypothesis-profile=long

browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk

$(REDIS_SERVER):
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server

# ruff, then the layer order and the pure cores' independence (import-linter, pyproject.toml).
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Never-called code; names only frameworks, templates or benchmarks use are in the whitelist.
deadcode: $(VENV)/.installed-dev
	$(VENV)/bin/vulture expertpool courses wsgi.py scripts/vulture_whitelist.py --min-confidence 60

bench: $(VENV)/.installed-dev
	$(PY) bench/embed.py
	$(PY) bench/match.py
	$(PY) bench/search.py
