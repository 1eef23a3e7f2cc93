#!/usr/bin/env bash
# Engine benchmark (speed and memory). Not a test: nothing here passes or fails.
#   bench/run.sh [engine_bench.py options]      e.g. bench/run.sh --runs 5 --tools flowradar,ndpiReader
# Captures are built outside the repository, in $FLOWRADAR_BENCH_DIR (default /tmp/flowradar-bench).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
py="$root/.venv/bin/python"
[ -x "$py" ] || py="$(command -v python3)"
exec "$py" "$here/engine_bench.py" "$@"
