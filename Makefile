# flowradar: `make run` starts the radar on this host, `make test` runs every test.
# Both set up whatever is missing first (Debian packages when run as root, the virtualenv, the build).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Offline threat lists (FireHOL level 1, Spamhaus DROP, ET): the seek-release wheel, read in place;
# downloaded without its dependencies (it would pull pandas for three text files).
DATA_DIR := $(VENV)/share/flowradar
DATA_STAMP := $(DATA_DIR)/.installed
DEB_PACKAGES := python3-venv python3-dev gcc make tshark tcpdump iproute2 iputils-ping nmap hping3 \
                dnsutils curl wireshark-common libndpi-bin openvpn krb5-user postgresql-client postgresql webext-ublock-origin-firefox openssh-server openssh-client sshpass redis-server \
                chromium
PY_SOURCES := pyproject.toml setup.py src/flowradar/engine/_fastpath.c $(wildcard src/flowradar/engine/dissect/_*.c src/flowradar/engine/dissect/*.h)
# The web dashboard: TypeScript sources in web/, built by Vite into the package (served at /).
WEB_OUT := src/flowradar/ui/web/index.html
WEB_SOURCES := $(shell find web/src web/index.html web/package.json web/package-lock.json web/vite.config.ts \
                 web/tsconfig.json -type f 2>/dev/null)

.PHONY: run test lint typecheck unit web webtest bench system clean help

help:
	@echo "make run    set up, then serve the radar of this host (API, live feed; prints URL and login)"
	@echo "make test   set up (Debian packages, virtualenv), then lint, type-check and run every test"
	@echo "make bench  benchmarks against peers (nfstream, ndpiReader, tshark)"

system:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "warning: missing Debian packages:$$missing (run as root to install them)"; fi; \
	fi

$(STAMP): $(PY_SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q src/flowradar  # start-up: no compiling at each run, even with PYTHONDONTWRITEBYTECODE
	@touch $(STAMP)

$(DATA_STAMP): $(STAMP)
	@mkdir -p $(DATA_DIR)
	$(BIN)/pip download -q --no-deps --dest $(DATA_DIR) 'seek-release>=0.1.3,<0.2'
	@touch $@

run: system $(STAMP) $(DATA_STAMP) web
	$(BIN)/flowradar serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(DATA_STAMP)
	$(BIN)/pytest -q

$(WEB_OUT): $(WEB_SOURCES)
	@command -v npm >/dev/null || { echo "make web: needs Node.js >= 20.19 and npm" >&2; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	@touch $@

web: $(WEB_OUT)

webtest: web
	cd web && npm test

test: system $(STAMP) lint typecheck web webtest unit

bench: system $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/engine_bench.py

clean:
	rm -rf $(VENV) build src/*.egg-info src/flowradar/engine/*.so
