"""The medical plugin: conformance kit, de-identification, CoNLL reader, strict entity F1."""

from __future__ import annotations

from pathlib import Path

import hub_medical
import pytest
from hub_medical.conll import read_conll
from hub_medical.deid import deidentify, phi_spans

from hub.plugin_api import EntitySpan, Prediction
from hub.testing.conformance import PluginConformance, load_plugin

HERE = Path(__file__).parent
CORPORA = HERE.parents[2].parent / "shared" / "data" / "medical"  # ../shared/data/medical
NOTE = (
    "Pt seen 03/14/2021 (DOB 1961-02-03), MRN: 00123456. Call (555) 123-4567 or write to "
    "j.doe@clinic.example.org. History of type 2 diabetes; cisplatin-induced nephrotoxicity on March 4, 2020."
)


class TestMedicalConformance(PluginConformance):
    plugin = hub_medical
    plugin_name = "medical"
    sample_texts = (NOTE, "Aspirin may cause Reye syndrome in children.", "No findings.")
    reader_files = {"medical.conll": HERE / "data" / "sample.tsv"}


def test_every_kind_of_phi_is_masked_before_the_model() -> None:
    out = deidentify(NOTE)
    for phi in ("03/14/2021", "1961-02-03", "00123456", "(555) 123-4567", "j.doe@clinic.example.org", "March 4, 2020"):
        assert phi not in out.text, phi
    for placeholder in ("[DATE]", "[RECORD]", "[PHONE]", "[EMAIL]"):
        assert placeholder in out.text
    assert "MRN: [RECORD]" in out.text and "type 2 diabetes" in out.text


def test_harmless_numbers_stay() -> None:
    text = "Dose 500 mg twice daily for 14 days; BP 120/80; 12 of 40 patients (30%)."
    assert deidentify(text).text == text


def test_the_task_pipeline_maps_entities_back_to_the_original() -> None:
    pipeline = load_plugin("medical", hub_medical).tasks.pipeline("medical.ner")
    prepared = pipeline.prepare(NOTE)
    model_text = prepared.pieces[0].text
    assert "00123456" not in model_text and "j.doe" not in model_text
    start = model_text.index("cisplatin-induced nephrotoxicity")
    entity = EntitySpan("Disease", start + 18, start + 32, "nephrotoxicity", 0.9)
    date = model_text.index("[DATE]")
    on_phi = EntitySpan("Disease", date, date + 6, "[DATE]", 0.6)
    answer = pipeline.finish(prepared, [Prediction(entities=[entity, on_phi])])
    assert [(e.text, NOTE[e.start : e.end]) for e in answer.entities] == [("nephrotoxicity", "nephrotoxicity")]


def test_phi_spans_cover_the_masks() -> None:
    text = "call 555-123-4567 now"
    assert [text[s.start : s.end] for s in phi_spans(text)] == ["555-123-4567"]
    assert "00123456" in [NOTE[s.start : s.end] for s in phi_spans(NOTE)]


def test_the_reader_yields_sentences() -> None:
    examples = list(read_conll(HERE / "data" / "sample.tsv"))
    assert len(examples) == 3 and examples[0].tokens[0] == "Cisplatin"
    assert [(label, examples[0].text[s:e]) for label, s, e in examples[0].entities()] == [
        ("Chemical", "Cisplatin"),
        ("Disease", "acute renal failure"),
    ]


def test_the_metric_is_strict() -> None:
    gold = [("B-Chemical", "O", "B-Disease", "I-Disease")]
    off_by_one = [("B-Chemical", "O", "B-Disease", "O")]
    scores = hub_medical.entity_f1(gold, off_by_one)
    assert scores["f1.Chemical"] == 1.0 and scores["f1.Disease"] == 0.0 and scores["f1"] == 0.5


@pytest.mark.parametrize(
    ("corpus", "sentences", "types"),
    [("ncbi-disease/train.tsv", 5424, {"Disease"}), ("bc5cdr/train.tsv", 4560, {"Chemical", "Disease"})],
)
def test_the_real_corpora_read_cleanly(corpus: str, sentences: int, types: set[str]) -> None:
    path = CORPORA / corpus
    if not path.is_file():
        pytest.skip(f"corpus not found at {path} (see ../shared/data/README.md)")
    examples = list(read_conll(path))
    assert len(examples) == sentences
    tags = {t for e in examples for t in e.tags}
    assert tags <= set(hub_medical.LABELS) and {t[2:] for t in tags if t != "O"} == types
    assert hub_medical.entity_f1([e.tags for e in examples], [e.tags for e in examples])["f1"] == 1.0
