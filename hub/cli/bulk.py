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

from hub.cli.render import prediction_json, prediction_lines
from hub.transport.client import HubClient, status_name

CHUNK = 32


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
    requests = ((str(i), args.adapter, [t for _, t in chunk], args.task or "") for i, chunk in enumerate(chunks))
    answers = {int(a.request_id): a for a in client.predict_stream(requests)}
    failed = False
    for i, chunk in enumerate(chunks):
        answer = answers[i]
        if answer.WhichOneof("outcome") == "error":
            failed = True
            where = f"lines {chunk[0][0]}-{chunk[-1][0]}"
            print(f"error: {status_name(answer.error.code)}: {answer.error.message} ({where})", file=sys.stderr)
            continue
        response = answer.response
        for (number, text), p in zip(chunk, response.predictions, strict=True):
            if args.json:
                print(json.dumps({"line": number, **prediction_json(p, response.head_kind, response.version)}))
            else:
                print(f"[line {number}] " + "\n".join(prediction_lines(text, p, response.head_kind)))
    return 1 if failed else 0
