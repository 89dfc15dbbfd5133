"""Quality of stacking on financial tweets (issue 25, the finance half of quality_stacking.py).

The corpus (../shared/data/finance/twitter-financial-news-sentiment/train.csv, 9,543 rows,
``text,label``: 0 Bearish, 1 Bullish, 2 Neutral) has no dev part, so its rows are shuffled once
with random.Random(0) and cut into three disjoint parts:

  dev     the first 1,500 rows: every run is evaluated on it once, at its last step
  domain  the next 5,000 rows: the finance domain adapter (LoRA + `finance.sentiment` head)
  tenants the rest (3,043 rows); a tenant of N rows gets the first N of them (nested subsets)

Dev accuracy and macro-F1 (the task's metric, over Bearish/Bullish/Neutral) of

  (a) bare:    the tenant's LoRA + head from the bare backbone
  (b) stacked: the tenant's LoRA + head on the domain adapter (applied, frozen: `train --base`)
  (c) domain:  the domain adapter alone with a new head (`train --head-only --base`)

Every run is the project's own `adapter-hub train` (printed; each output's card records it).

    .venv/bin/python benchmarks/quality_stacking_finance.py --domain-only   # the domain adapter
    .venv/bin/python benchmarks/quality_stacking_finance.py --arms a,b,c     # the tenant runs
    .venv/bin/python benchmarks/quality_stacking_finance.py --table          # the table
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

from quality_stacking import ROOT, train

CORPUS = ROOT.parent / "shared" / "data" / "finance" / "twitter-financial-news-sentiment" / "train.csv"
OUT = ROOT / ".hub-data" / "stacking-finance"
TASK = "finance.sentiment"
DEV_ROWS = 1500
DOMAIN_ROWS = 5000
SIZES = (50, 200, 1000)
# batch 16 and epochs per size: 128, 130 and 126 steps
EPOCHS = {50: 32, 200: 10, 1000: 2}
BASE_REF = "finance:tweets-sentiment@1"  # as published: `push DIR --domain finance --name tweets-sentiment`
ARMS = {
    "a": ("bare", []),
    "b": ("stacked", ["--base", "{domain}", "--base-ref", BASE_REF]),
    "c": ("domain + new head", ["--head-only", "--base", "{domain}", "--base-ref", BASE_REF]),
}
COMMON = ["--threads", "1", "--seed", "0", "--no-progress", "--overwrite", "--task", TASK]


def _rows() -> list[tuple[str, str]]:
    """The corpus's rows in the seed-0 order (the header dropped)."""
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(handle)]
    random.Random(0).shuffle(rows)
    return rows


def part(name: str, n: int = 0) -> Path:
    """The CSV of one part: "dev", "domain" or "tenant" (its first n rows); written once."""
    path = OUT / "data" / (f"tenant-{n}.csv" if name == "tenant" else f"{name}.csv")
    if path.exists():
        return path
    rows = _rows()
    parts = {
        "dev": rows[:DEV_ROWS],
        "domain": rows[DEV_ROWS : DEV_ROWS + DOMAIN_ROWS],
        "tenant": rows[DEV_ROWS + DOMAIN_ROWS :][:n],
    }
    if name == "tenant" and len(parts["tenant"]) < n:
        raise SystemExit(f"only {len(parts['tenant'])} tenant rows, {n} asked")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(parts[name])
    return path


def domain_adapter(domain: Path, steps: int) -> None:
    train([*COMMON, "--train", str(part("domain")), "--dev", str(part("dev")), "--output", str(domain),
           "--rank", "8", "--lr", "2e-3", "--batch-size", "32", "--max-steps", str(steps),
           "--eval-every", "100000", "--title", "Financial tweets sentiment domain adapter",
           "--description", f"{DOMAIN_ROWS} rows of Twitter Financial News Sentiment (zeroshot, MIT)"])  # fmt: skip


def tenant(arm: str, n: int, domain: Path, suffix: str = "") -> None:
    extra = [x.format(domain=domain) for x in ARMS[arm][1]]
    lr = [] if "--head-only" in extra else ["--lr", "2e-3"]
    train([*COMMON, "--train", str(part("tenant", n)), "--dev", str(part("dev")),
           "--output", str(OUT / f"{arm}-{n}{suffix}"), "--rank", "8", *lr, "--batch-size", "16",
           "--epochs", str(EPOCHS[n]), "--eval-every", "100000", *extra])  # fmt: skip


def _scores(run: Path) -> dict[str, float] | None:
    summary = run / "training" / "summary.json"
    if not summary.exists():
        return None
    scores: dict[str, float] = json.loads(summary.read_text())["dev"][TASK]
    return scores


def table(suffix: str = "") -> None:
    """Accuracy / macro-F1 per arm and size, and (b) - (a) in macro-F1 points."""
    print(
        "| tenant rows | (a) bare backbone | (b) stacked on the domain adapter "
        "| (c) domain adapter + new head | (b) - (a) macro-F1 |"
    )
    print("|---|---|---|---|---|")
    for n in SIZES:
        scores = {arm: _scores(OUT / f"{arm}-{n}{suffix}") for arm in ARMS}
        cells = [f"{s['accuracy']:.4f} / {s['macro_f1']:.4f}" if s else "-" for s in scores.values()]
        a, b = scores["a"], scores["b"]
        gain = f"{100 * (b['macro_f1'] - a['macro_f1']):+.1f}" if a and b else "-"
        print(f"| {n} | " + " | ".join(cells) + f" | {gain} |")
    domain = _scores(OUT / "finance-tweets")
    if domain:
        print(f"\ndomain adapter itself (its own head, {DOMAIN_ROWS} rows): "
              f"accuracy {domain['accuracy']:.4f}, macro-F1 {domain['macro_f1']:.4f}")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arms", default="a,b,c")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--domain", type=Path, default=OUT / "finance-tweets", help="the domain adapter's directory")
    p.add_argument("--domain-only", action="store_true")
    p.add_argument("--domain-steps", type=int, default=300, help="domain adapter's steps (batch 32; 300: ~2 epochs)")
    p.add_argument("--seed", type=int, default=0, help="the runs' seed (dropout, head init, batch order)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--out-suffix", default="", help="tenant runs go to <arm>-<size><suffix>")
    p.add_argument("--table", action="store_true")
    args = p.parse_args()
    COMMON[COMMON.index("--seed") + 1] = str(args.seed)
    COMMON[COMMON.index("--threads") + 1] = str(args.threads)
    if args.table:
        table(args.out_suffix)
        return 0
    needs_domain = any(arm in args.arms for arm in "bc")
    if args.domain_only or (needs_domain and not (args.domain / "hub_adapter.json").exists()):
        domain_adapter(args.domain, args.domain_steps)
        if args.domain_only:
            return 0
    for n in (int(x) for x in args.sizes.split(",")):
        for arm in args.arms.split(","):
            tenant(arm, n, args.domain, args.out_suffix)
    table(args.out_suffix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
