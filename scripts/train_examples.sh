#!/usr/bin/env bash
# Retrain the shipped example adapters in examples/adapters/ from the corpora in ../shared/data,
# one after another, with `adapter-hub train` (the commands are in benchmarks/quality.py and in
# each adapter's README.md). About 10-25 minutes each on one CPU core (NCBI, 10 epochs, the longest).
#   scripts/train_examples.sh                              # all three
#   scripts/train_examples.sh --corpora unfair-tos         # one of them
#   scripts/train_examples.sh --dry-run                    # print the commands only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python benchmarks/quality.py --modes lora --ship "$@"
