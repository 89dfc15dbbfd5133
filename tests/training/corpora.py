"""Small synthetic files in the corpora's formats, written by the tests themselves.

The real corpora live in ../shared/data and are never copied here; these few dozen lines are
enough for tiny runs whose loss must fall and whose artifact must serve.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

DISEASES = [["breast", "cancer"], ["asthma"], ["type", "2", "diabetes"], ["colorectal", "adenomas"], ["migraine"]]
OTHERS = [["aspirin"], ["the", "protein"], ["a", "new", "assay"], ["patients"], ["the", "gene"]]
FRAMES = [
    (["Mutations", "in"], ["cause"], ["."]),
    (["We", "studied"], ["and"], ["in", "mice", "."]),
    (["Risk", "of"], ["rose", "with"], ["exposure", "."]),
]
BULLISH = ["shares jump after strong earnings", "stock rallies on upgrade", "record revenue lifts shares"]
BEARISH = ["shares plunge after weak guidance", "stock falls on downgrade", "losses widen as sales slump"]
NEUTRAL = ["to present at investor conference", "announces quarterly dividend date", "files annual report"]
TICKERS = ["$AAPL", "$TSLA", "$JPM", "$XOM", "$AMZN"]
FAIR = ["We value your privacy.", "Contact us at any time.", "These terms describe our service."]
UNFAIR = [
    ("We may terminate your account at any time without notice.", "ter3"),
    ("We are not liable for any damages arising from use of the service.", "ltd2"),
    ("We may change these terms at any time without telling you.", "ch2"),
]


def write_conll(path: Path, sentences: int, seed: int) -> Path:
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(sentences):
        head, middle, tail = rng.choice(FRAMES)
        disease, other = rng.choice(DISEASES), rng.choice(OTHERS)
        words = [(w, "O") for w in head]
        words += [(w, ("B-" if i == 0 else "I-") + "Disease") for i, w in enumerate(disease)]
        words += [(w, "O") for w in middle + other + tail]
        lines += [f"{w}\t{t}" for w, t in words] + [""]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_finance(path: Path, rows: int, seed: int) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["text", "label"])
        for _ in range(rows):
            label = rng.randrange(3)
            phrase = rng.choice((BEARISH, BULLISH, NEUTRAL)[label])
            out.writerow([f"{rng.choice(TICKERS)} {phrase} https://t.co/x{rng.randrange(999)}", label])
    return path


def write_tos(path: Path, documents: int, seed: int) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle, delimiter="\t")
        out.writerow(["document", "sentence", "tags"])
        for d in range(documents):
            for _ in range(8):
                if rng.random() < 0.4:
                    sentence, tag = rng.choice(UNFAIR)
                else:
                    sentence, tag = rng.choice(FAIR), ""
                out.writerow([f"Service{d}", sentence, tag])
    return path
