# Everything a fresh machine needs: `make run` and `make test` install what is missing first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SYSTEM_PACKAGES := ffmpeg portaudio19-dev pulseaudio pulseaudio-utils libasound2-plugins tmux libopus0
# GStreamer: a peer in the interop tests only; icecast2: the tests' own Icecast server (tests/test_icecast.py). The
# station's Icecast server usually runs elsewhere: make run does not install it, and nothing starts it but the tests.
# Chromium and its driver: the dashboard's browser test (tests/test_dashboard_e2e.py) and bench.dashboard only; the
# station serves the dashboard without them.
TEST_PACKAGES := gstreamer1.0-tools gstreamer1.0-plugins-good icecast2 chromium chromium-driver
STAMP := $(VENV)/.installed
FUZZ_EXAMPLES ?= 1000000

.PHONY: install system-packages test-packages run listen test fuzz bench throughput clean help

help:
	@echo "make run      install what is missing, then start the station on media/ with its console"
	@echo "make listen   install what is missing, then start a listener"
	@echo "make test     install what is missing, then run the whole test suite: the unit tests (fuzzing 10000 examples"
	@echo "              a parser) on both cores, then the end-to-end tests (e2e) alone"
	@echo "make fuzz     fuzz every parser for hours: FUZZ_EXAMPLES examples each (default 1000000; make test: 10000;"
	@echo "              a plain pytest, or its fast part pytest -m 'not e2e': 500)"
	@echo "make bench    run the benchmarks (figures, not pass/fail)"
	@echo "make throughput  run the throughput batch: 1 to 100 listeners, table and plot in out/throughput/"
	@echo "make install  only install: system packages (apt-get) and .venv/"

install: system-packages $(STAMP)

# Installs only the Debian packages of $(1) that are missing; apt-get update runs only when something must be.
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

system-packages:
	$(call install_missing,$(SYSTEM_PACKAGES))

test-packages:
	$(call install_missing,$(TEST_PACKAGES))

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: install
	$(PY) -m station --http 0 media/

listen: install
	$(PY) -m listener

# The whole suite in two runs; `make test` fails if either fails, and the second runs even if the first fails.
# First the unit tests, with the fuzzing at 10000 examples a parser and the tests marked slow (which conftest.py
# marks e2e, to keep them out of the fast part), on both cores; then the end-to-end tests alone, as their timing
# (playout in step to a millisecond, a station's send error under 2 ms) needs the machine to itself. worksteal,
# with the long tests first (tests/conftest.py): a worker left idle takes tests queued for the other.
# Bytecode is cached (__pycache__/, ignored by git) even where the environment says not to (PYTHONDONTWRITEBYTECODE):
# each station and listener the end-to-end tests start would otherwise compile the whole project anew.
test: install test-packages
	status=0; \
	export PYTHONDONTWRITEBYTECODE=; \
	FUZZ_EXAMPLES=10000 $(PY) -m pytest -q -n 2 --dist worksteal -m "not e2e or slow" || status=$$?; \
	$(PY) -m pytest -q -m "e2e and not slow" || status=$$?; \
	exit $$status

# The long run of tests/test_fuzz.py; no per-test timeout, as a test takes as long as its examples do.
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q --timeout=0 tests/test_fuzz.py

# The peers (GStreamer) and the Icecast feed need what the tests install.
bench: install test-packages
	$(PY) -m bench --codec l16,opus
	$(PY) -m bench.network
	$(PY) -m bench.opus
	$(PY) -m bench.sync
	$(PY) -m bench.start
	$(PY) -m bench.peers
	$(PY) -m bench.latency
	$(PY) -m bench.dashboard --browsers 5
	$(PY) -m bench.icecast

throughput: install
	$(PY) -m throughput_testing

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
