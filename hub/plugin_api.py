"""The public surface for plugin authors: import from here, and only from here.

    from hub.plugin_api import HeadKind, TaskSpec, hookimpl

Everything else in ``hub`` may change without notice; this module's names are the contract
(docs/plugins.md describes each hook and type).
"""

from __future__ import annotations

from adapters_registry.manifest import HeadKind, HeadSpec, Manifest
from hub.plugins.hookspecs import ENTRY_POINT_GROUP, AdapterEvent, hookimpl
from hub.tasks.datasets import Example, Reader, TextExample, TokenExample, bio_chunks
from hub.tasks.head_kinds import gold
from hub.tasks.metrics import Metric, classification_scores, entity_scores, multi_label_scores
from hub.tasks.pipeline import AnsweredSegment, Postprocessor
from hub.tasks.results import EntitySpan, LabelScore, Prediction, SegmentPrediction
from hub.tasks.specs import TaskSpec
from hub.tasks.text import (
    Edit,
    OffsetMap,
    Preprocessed,
    Preprocessor,
    Segment,
    Segmenter,
    Span,
    apply_edits,
    replace_patterns,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "AdapterEvent",
    "AnsweredSegment",
    "Edit",
    "EntitySpan",
    "Example",
    "HeadKind",
    "HeadSpec",
    "LabelScore",
    "Manifest",
    "Metric",
    "OffsetMap",
    "Postprocessor",
    "Prediction",
    "Preprocessed",
    "Preprocessor",
    "Reader",
    "Segment",
    "SegmentPrediction",
    "Segmenter",
    "Span",
    "TaskSpec",
    "TextExample",
    "TokenExample",
    "apply_edits",
    "bio_chunks",
    "classification_scores",
    "entity_scores",
    "gold",
    "hookimpl",
    "multi_label_scores",
    "replace_patterns",
]
