#!/usr/bin/env bash
# Lint, format check, type check, then the whole test suite. Run through `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
echo "== ruff check" && "$bin/ruff" check .
echo "== ruff format --check" && "$bin/ruff" format --check .
echo "== mypy" && "$bin/mypy"
echo "== pytest" && "$bin/python" -m pytest -q -p no:cacheprovider "$@"
