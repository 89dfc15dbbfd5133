"""Adapter Hub plugin "medical": biomedical named-entity recognition.

Task ``medical.ner``: BIO tags over the union of the corpora's entity types, Chemical and
Disease, in one fixed label order. One label space means every medical.ner adapter answers in
the same terms (fan-out across them compares like with like); an adapter trained on
NCBI-disease alone (Disease only) simply never predicts Chemical, and says so in its manifest.
Texts are de-identified (``medical.deid``) before the model sees them; entities come back with
offsets into the original text, and ones lying on masked PHI are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hub.plugin_api import (
    HeadKind,
    Metric,
    Prediction,
    Preprocessor,
    Reader,
    TaskSpec,
    entity_scores,
    hookimpl,
)
from hub_medical.conll import read_conll
from hub_medical.deid import deidentify, phi_spans

LABELS = ("O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease")


def drop_entities_on_phi(prediction: Prediction, text: str) -> Prediction:
    """The model read a placeholder there, not a disease: an entity overlapping PHI is noise."""
    masked = phi_spans(text)
    kept = [e for e in prediction.entities if not any(e.start < s.end and s.start < e.end for s in masked)]
    return Prediction(prediction.labels, kept, prediction.predicted, prediction.segments)


def entity_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    return entity_scores(gold, predicted)


@hookimpl
def register_preprocessors(register: Callable[[Preprocessor], None]) -> None:
    register(
        Preprocessor(
            "medical.deid",
            deidentify,
            "masks dates, phone numbers, e-mail addresses and record numbers as [DATE], [PHONE], [EMAIL], [RECORD]",
        )
    )


@hookimpl
def register_readers(register: Callable[[Reader], None]) -> None:
    register(Reader("medical.conll", read_conll, "CoNLL TSV: token<TAB>IOB2-tag, blank line between sentences"))


@hookimpl
def register_metrics(register: Callable[[Metric], None]) -> None:
    register(
        Metric(
            "medical.entity_f1",
            HeadKind.TOKEN,
            entity_f1,
            headline="f1",
            description="strict entity-level precision, recall, F1 (exact boundaries and type), F1 per type",
        )
    )


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            "medical.ner",
            HeadKind.TOKEN,
            "Chemical and Disease mentions (NCBI-disease, BC5CDR) as character spans; PHI is masked before the model",
            labels=LABELS,
            preprocessors=("medical.deid",),
            postprocessor=drop_entities_on_phi,
            metric="medical.entity_f1",
            reader="medical.conll",
        )
    )
