"""The built-in readers of tenants' own files (CSV, TSV, JSON Lines, CoNLL), chosen by extension;
a malformed file is an InvalidArgument naming the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config.settings import Settings
from hub.errors import InvalidArgument
from hub.plugins.manager import build_plugins
from hub.tasks.datasets import ReaderOptions, TextExample, TokenExample
from hub.tasks.readers import CONLL, CSV, JSONL, TSV, choose_reader, read_conll, read_jsonl, read_table
from hub.training.data import read_examples

SEQ, MULTI, TOKEN = (
    "generic.sequence_classification",
    "generic.multi_label_classification",
    "generic.token_classification",
)


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def table(path: Path, options: ReaderOptions | None = None, delimiter: str = ",") -> list[TextExample]:
    return list(read_table(path, options or ReaderOptions(), delimiter))


def test_csv_rows_become_examples_with_quoting_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", 'text,label\n"Great, really great",pos\n\nAwful.,neg\n')
    assert [(e.text, e.labels, e.id) for e in table(path)] == [
        ("Great, really great", ("pos",), "reviews.csv:2"),
        ("Awful.", ("neg",), "reviews.csv:4"),
    ]


def test_columns_are_named_by_options_and_multi_labels_split_or_listed(tmp_path: Path) -> None:
    path = write(tmp_path / "t.tsv", 'id\tbody\ttopics\n1\tRates rise\tmacro|rates\n2\tQuiet day\t\n3\tA\t["x", "y"]\n')
    options = ReaderOptions(text_column="body", label_column="topics", label_separator="|")
    examples = table(path, options, "\t")
    assert [e.labels for e in examples] == [("macro", "rates"), (), ("x", "y")]
    assert examples[0].text == "Rates rise"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "body,label\nhi,a\n",
            r"t.csv:1: no column 'text' \(the header has \['body', 'label'\]\); name it with --text",
        ),
        ("text,label\nhi,a\nno label here\n", r"t.csv:3: 1 fields, the header has 2"),
        ("", r"t.csv:1: no header row"),
        ('text,label\nhi,"[""a"", "\n', r"t.csv:2: labels .* start like a JSON list but are not one"),
        (b"text,label\nhi,a\ncaf\xe9,b\n", r"t.csv:3: not UTF-8 text"),
    ],
)
def test_a_malformed_table_names_file_line_and_problem(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        table(write(tmp_path / "t.csv", content))


def test_json_lines_hold_text_examples_or_token_examples(tmp_path: Path) -> None:
    lines = [
        '{"text": "Rates rise", "label": ["macro", "rates"]}',
        "",
        '{"text": "Quiet", "label": "none"}',
        '{"tokens": ["BRCA1", "mutation"], "tags": ["B-Gene", "O"]}',
    ]
    examples = list(read_jsonl(write(tmp_path / "d.jsonl", "\n".join(lines)), ReaderOptions()))
    assert examples[0] == TextExample("Rates rise", ("macro", "rates"), id="d.jsonl:1")
    assert examples[1].labels == ("none",) and examples[1].id == "d.jsonl:3"
    assert examples[2] == TokenExample(("BRCA1", "mutation"), ("B-Gene", "O"), id="d.jsonl:4")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "a", "label": "x"', r"d.jsonl:2: not valid JSON \(Expecting ',' delimiter at column 27\)"),
        ('["a", "x"]', r"d.jsonl:2: each line must be a JSON object, got list"),
        ('{"body": "a", "label": "x"}', r"d.jsonl:2: no string field 'text' \(fields: \['body', 'label'\]\)"),
        ('{"text": "a"}', r"d.jsonl:2: no field 'label'; name it with --label-column"),
        ('{"text": "a", "label": 3}', r"d.jsonl:2: the label must be a string or a list of strings, got 3"),
        ('{"tokens": ["a", "b"], "tags": ["O"]}', r"d.jsonl:2: 2 tokens but 1 tags"),
    ],
)
def test_a_malformed_json_line_names_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "d.jsonl", '{"text": "fine", "label": "x"}\n' + line + "\n")
    with pytest.raises(InvalidArgument, match=message):
        list(read_jsonl(path, ReaderOptions()))


def test_conll_sentences_and_documents(tmp_path: Path) -> None:
    content = "-DOCSTART- O\n\nBRCA1\tB-Gene\nis  O\n\nIt O\n-DOCSTART- O\nTP53 B-Gene\nmutations I-Gene\n"
    examples = list(read_conll(write(tmp_path / "ner.conll", content)))
    assert [(e.tokens, e.tags, e.id, e.group) for e in examples] == [
        (("BRCA1", "is"), ("B-Gene", "O"), "ner.conll:3", "document 1"),
        (("It",), ("O",), "ner.conll:6", "document 1"),
        (("TP53", "mutations"), ("B-Gene", "I-Gene"), "ner.conll:8", "document 2"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("BRCA1 B-Gene\nlonely\n", r"ner.conll:2: expected a token and its tag .*got 'lonely'"),
        ("BRCA1 Gene\n", r"ner.conll:1: tag 'Gene' is not O, B-TYPE or I-TYPE"),
    ],
)
def test_a_malformed_conll_line_is_named(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        list(read_conll(write(tmp_path / "ner.conll", content)))


def test_the_reader_follows_the_extension_and_the_task_kind() -> None:
    assert [choose_reader(Path(f"x{s}"), False) for s in (".csv", ".TSV", ".jsonl", ".conll")] == [
        CSV,
        TSV,
        JSONL,
        None,
    ]
    assert [choose_reader(Path(f"x{s}"), True) for s in (".conll", ".tsv", ".jsonl", ".csv")] == [
        CONLL,
        CONLL,
        JSONL,
        None,
    ]


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return build_plugins(Settings.from_env(environ={})).catalog


def test_generic_tasks_read_their_files_by_extension(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert {CSV, TSV, JSONL, CONLL} <= set(catalog.readers)
    seq = write(tmp_path / "s.csv", "text,label\nfine,a\n")
    multi = write(tmp_path / "m.jsonl", '{"text": "fine", "label": ["a", "b"]}\n')
    token = write(tmp_path / "t.tsv", "BRCA1\tB-Gene\n")
    assert read_examples(catalog, catalog.tasks.get(SEQ), seq)[0].labels == ("a",)
    assert read_examples(catalog, catalog.tasks.get(MULTI), multi)[0].labels == ("a", "b")
    assert isinstance(read_examples(catalog, catalog.tasks.get(TOKEN), token)[0], TokenExample)


def test_what_a_task_cannot_read_is_said_plainly(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seq = catalog.tasks.get(SEQ)
    with pytest.raises(InvalidArgument, match=r"'s.xlsx' is not a format the hub reads by its extension \(.csv"):
        read_examples(catalog, seq, write(tmp_path / "s.xlsx", "x"))
    with pytest.raises(InvalidArgument, match=r"reader 'generic\.conll' takes no --text-column"):
        read_examples(catalog, seq, write(tmp_path / "s.csv", "x"), CONLL, ReaderOptions(text_column="body"))
    two = write(tmp_path / "two.csv", "text,label\nfine,a|b\n")
    with pytest.raises(InvalidArgument, match=r"two.csv:2'?: a sequence task needs exactly one label"):
        read_examples(catalog, seq, two, options=ReaderOptions(label_separator="|"))


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_example_csv_reads_as_the_readme_says(catalog, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The "Bring your own data" example: its CSV, its columns, 16 examples of two labels."""
    text = README.read_text()
    body = text.split("cat > reviews.csv <<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0]
    path = write(tmp_path / "reviews.csv", body + "\n")
    options = ReaderOptions(text_column="review", label_column="sentiment")
    examples = read_examples(catalog, catalog.tasks.get(SEQ), path, options=options)
    assert len(examples) == 16 and {e.labels for e in examples} == {("positive",), ("negative",)}


def test_the_readme_names_every_family_the_hub_imports() -> None:
    from adapters_registry.families import FAMILIES

    section = README.read_text().split("## Bring your own adapter", 1)[1].split("\n## ", 1)[0]
    assert all(f"(`{model_type}`)" in section for model_type in FAMILIES)
