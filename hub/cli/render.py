"""Turn the client library's results into the CLI's JSON objects and human-readable lines, and print them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from adapter_hub_client import AdapterVersion, Entity, LabelScore, Prediction, Segment

TOKEN = "token"


def _entities(entities: list[Entity]) -> list[dict[str, Any]]:
    return [
        {"label": e.label, "start": e.start, "end": e.end, "text": e.text, "score": round(e.score, 6)} for e in entities
    ]


def _labels(labels: list[LabelScore]) -> list[dict[str, Any]]:
    return [{"label": x.label, "score": round(x.score, 6)} for x in labels]


def prediction_json(p: Prediction) -> dict[str, Any]:
    if p.head_kind == TOKEN:
        out: dict[str, Any] = {"entities": _entities(p.entities)}
    else:
        out = {"labels": _labels(p.labels)}
        out["predicted"] = list(p.predicted)
    if p.segments:
        out["segments"] = [segment_json(s, p.head_kind) for s in p.segments]
    out["version"] = p.version
    return out


def segment_json(s: Segment, head_kind: str) -> dict[str, Any]:
    """One segment's answer: its offsets into the original text, its text, and its answer."""
    out: dict[str, Any] = {"start": s.start, "end": s.end, "text": s.text}
    if s.kind:
        out["kind"] = s.kind
    if head_kind == TOKEN:
        out["entities"] = _entities(s.entities)
    else:
        out["labels"] = _labels(s.labels)
        out["predicted"] = list(s.predicted)
    return out


def segment_lines(p: Prediction) -> list[str]:
    lines = [f"  segments ({len(p.segments)}):"] if p.segments else []
    for s in p.segments:
        found = ",".join(s.predicted) or ",".join(e.label for e in s.entities) or "-"
        excerpt = s.text if len(s.text) <= 60 else s.text[:57] + "..."
        kind = f"[{s.kind}] " if s.kind else ""
        lines.append(f"    {s.start:>5}-{s.end:<5} {found:<32} {kind}{excerpt!r}")
    return lines


def prediction_lines(text: str, p: Prediction) -> list[str]:
    lines = [text]
    if p.head_kind == TOKEN:
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


def version_json(v: AdapterVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "aliases": list(v.aliases),
        "tasks": [{"task": t.task, "head_kind": t.head_kind, "labels": list(t.labels)} for t in v.tasks],
        "size_bytes": v.size_bytes,
        "rank": v.rank,
        "created_at": v.created_at,
        "description": v.description,
    }


def fields_json(value: Any) -> dict[str, Any]:
    """A flat result's every field by name, in the wire message's order (the client's results
    mirror the messages field by field)."""
    return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


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
