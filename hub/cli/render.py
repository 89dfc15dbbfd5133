"""Turn responses into the CLI's JSON objects and human-readable lines, and print them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, MutableSequence
from typing import Any

from google.protobuf.message import Message

from hub.api.v1 import adapters_pb2, common_pb2, inference_pb2


def prediction_json(p: inference_pb2.Prediction, head_kind: int, version: str) -> dict[str, Any]:
    if head_kind == common_pb2.HEAD_KIND_TOKEN:
        out: dict[str, Any] = {
            "entities": [
                {
                    "label": e.label,
                    "start": e.start,
                    "end": e.end,
                    "text": e.text,
                    "score": round(e.score, 6),
                }
                for e in p.entities
            ]
        }
    else:
        out = {"labels": [{"label": x.label, "score": round(x.score, 6)} for x in p.labels]}
        out["predicted"] = list(p.predicted)
    if p.segments:
        out["segments"] = [segment_json(s, head_kind) for s in p.segments]
    out["version"] = version
    return out


def segment_json(s: inference_pb2.Segment, head_kind: int) -> dict[str, Any]:
    """One segment's answer: its offsets into the original text, its text, and its answer."""
    out: dict[str, Any] = {"start": s.start, "end": s.end, "text": s.text}
    if head_kind == common_pb2.HEAD_KIND_TOKEN:
        out["entities"] = [
            {"label": e.label, "start": e.start, "end": e.end, "text": e.text, "score": round(e.score, 6)}
            for e in s.entities
        ]
    else:
        out["labels"] = [{"label": x.label, "score": round(x.score, 6)} for x in s.labels]
        out["predicted"] = list(s.predicted)
    return out


def segment_lines(p: inference_pb2.Prediction) -> list[str]:
    lines = [f"  segments ({len(p.segments)}):"] if p.segments else []
    for s in p.segments:
        found = ",".join(s.predicted) or ",".join(e.label for e in s.entities) or "-"
        excerpt = s.text if len(s.text) <= 60 else s.text[:57] + "..."
        lines.append(f"    {s.start:>5}-{s.end:<5} {found:<32} {excerpt!r}")
    return lines


def prediction_lines(text: str, p: inference_pb2.Prediction, head_kind: int) -> list[str]:
    lines = [text]
    if head_kind == common_pb2.HEAD_KIND_TOKEN:
        if not p.entities:
            lines.append("    (no entities)")
        for e in p.entities:
            lines.append(f"    {e.label:<16} {e.start:>5}-{e.end:<5} {e.score:.4f}  {e.text!r}")
        return lines + segment_lines(p)
    chosen = set(p.predicted)
    for x in p.labels:
        mark = "*" if x.label in chosen else " "
        lines.append(f"  {mark} {x.label:<24} {x.score:.4f}")
    return lines + segment_lines(p)


def head_kind_name(kind: int) -> str:
    return common_pb2.HeadKind.Name(kind).removeprefix("HEAD_KIND_").lower()


def version_json(v: adapters_pb2.AdapterVersionInfo) -> dict[str, Any]:
    return {
        "version": v.version,
        "aliases": list(v.aliases),
        "tasks": [
            {"task": t.task, "head_kind": head_kind_name(t.head_kind), "labels": list(t.labels)} for t in v.tasks
        ],
        "size_bytes": v.size_bytes,
        "rank": v.rank,
        "created_at": v.created_at,
        "description": v.description,
    }


def message_json(message: Message) -> dict[str, Any]:
    """A flat message's every field (defaults included) by its proto name, 64-bit integers as
    numbers (json_format.MessageToDict writes them as strings)."""
    values = {f.name: getattr(message, f.name) for f in message.DESCRIPTOR.fields}
    return {name: list(v) if isinstance(v, MutableSequence) else v for name, v in values.items()}


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def show(as_json: bool, data: Any, lines: Iterable[str]) -> int:
    """Print ``data`` as JSON (--json) or else the human-readable ``lines``; the exit status 0."""
    if as_json:
        emit_json(data)
    else:
        for line in lines:
            print(line)
    return 0
