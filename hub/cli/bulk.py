"""`adapter-hub predict --file`: score a file of texts, one per line, over one PredictStream call.

Lines go in chunks of CHUNK texts, several chunks in flight at once (the server batches them
together); output keeps the file's order and names each line's number. A chunk that fails is
reported on stderr with its lines and the command exits 1; the other chunks are still printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adapter_hub_client import HubClient

from hub.cli.render import prediction_json, prediction_lines

CHUNK = 32
IN_FLIGHT = 8


def read_lines(source: str) -> list[tuple[int, str]]:
    """(line number, text) for every non-blank line of a file, or of stdin for "-"."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def cmd_predict_file(args: argparse.Namespace, client: HubClient) -> int:
    lines = read_lines(args.file)
    if not lines:
        print(f"error: no texts in {args.file}", file=sys.stderr)
        return 2
    chunks = [lines[i : i + CHUNK] for i in range(0, len(lines), CHUNK)]
    texts = ([t for _, t in chunk] for chunk in chunks)
    failed = False
    for batch in client.predict_batches(args.adapter, texts, args.task, in_flight=IN_FLIGHT):
        chunk = chunks[batch.index]
        if batch.error is not None:
            failed = True
            print(f"error: {batch.error} (lines {chunk[0][0]}-{chunk[-1][0]})", file=sys.stderr)
            continue
        for (number, text), p in zip(chunk, batch.predictions, strict=True):
            if args.json:
                print(json.dumps({"line": number, **prediction_json(p)}))
            else:
                print(f"[line {number}] " + "\n".join(prediction_lines(text, p)))
    return 1 if failed else 0
