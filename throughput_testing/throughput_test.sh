#!/usr/bin/env bash
# The throughput batch in its shell form: the arguments are python -m throughput_testing's (--clients, --seconds,
# --group/--port, --out, --from; --help). Runs with the repository's .venv (make install makes it); relative paths
# are the caller's.
set -euo pipefail
exec "$(dirname "$0")/../.venv/bin/python" -m throughput_testing "$@"
