"""Quality of stacking (issue 25): a medical domain adapter trained on BC5CDR, then tenants with
50, 200 and 1,000 NCBI-disease training sentences. NCBI devel F1 of

  (a) bare:    the tenant's LoRA + head from the bare backbone
  (b) stacked: the tenant's LoRA + head on the domain adapter (applied, frozen: `train --base`)
  (c) domain:  the domain adapter alone with a new head (`train --head-only --base`)

Every run is the project's own `adapter-hub train` (printed; each output's card records it).
Tenant subsets: NCBI's training sentences shuffled with random.Random(0), the first N (nested).
Each tenant run is evaluated once, at its last step (no selection on the dev set).

    .venv/bin/python benchmarks/quality_stacking.py --domain-only    # the BC5CDR domain adapter
    .venv/bin/python benchmarks/quality_stacking.py --arms a,b,c      # the tenant runs
    .venv/bin/python benchmarks/quality_stacking.py --table           # the table, from the summaries
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "medical"
OUT = ROOT / ".hub-data" / "stacking"
SIZES = (50, 200, 1000)
# batch 16 and epochs per size so that every tenant run takes 100-190 steps
EPOCHS = {50: 25, 200: 10, 1000: 3}
BASE_REF = "medical:bc5cdr@1"  # what the domain adapter is published as (`push --domain medical --name bc5cdr`)
ARMS = {
    "a": ("bare", []),
    "b": ("stacked", ["--base", "{domain}", "--base-ref", BASE_REF]),
    "c": ("domain + new head", ["--head-only", "--base", "{domain}", "--base-ref", BASE_REF]),
}
COMMON = ["--threads", "1", "--seed", "0", "--no-progress", "--overwrite", "--task", "medical.ner"]


def train(argv: list[str]) -> None:
    command = [str(ROOT / ".venv" / "bin" / "adapter-hub"), "train", *argv]
    print("$ adapter-hub " + shlex.join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def subset(n: int) -> Path:
    path = OUT / "data" / f"ncbi-train-{n}.tsv"
    if not path.exists():
        sentences = [s for s in (DATA / "ncbi-disease" / "train.tsv").read_text().strip().split("\n\n") if s.strip()]
        order = list(range(len(sentences)))
        random.Random(0).shuffle(order)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(sentences[i] for i in order[:n]) + "\n")
    return path


def domain_adapter(domain: Path, steps: int) -> None:
    """150 steps of 32 BC5CDR sentences (about one epoch): what the shared 2-core machine allowed."""
    train([*COMMON, "--train", str(DATA / "bc5cdr" / "train.tsv"), "--output", str(domain), "--rank", "8",
           "--lr", "2e-3", "--max-steps", str(steps), "--title", "BC5CDR medical domain adapter",
           "--description", "Chemical and disease mentions, BioCreative V CDR (Li et al. 2016)"])  # fmt: skip


def tenant(arm: str, n: int, domain: Path, suffix: str = "") -> None:
    extra = [x.format(domain=domain) for x in ARMS[arm][1]]
    lr = [] if "--head-only" in extra else ["--lr", "2e-3"]
    train([*COMMON, "--train", str(subset(n)), "--dev", str(DATA / "ncbi-disease" / "devel.tsv"),
           "--output", str(OUT / f"{arm}-{n}{suffix}"), "--rank", "8", *lr, "--batch-size", "16",
           "--epochs", str(EPOCHS[n]), "--eval-every", "100000", *extra])  # fmt: skip


def table() -> None:
    print(
        "| tenant sentences | (a) bare backbone | (b) stacked on the domain adapter "
        "| (c) domain adapter + new head | (b) - (a) |"
    )
    print("|---|---|---|---|---|")
    for n in SIZES:
        f1 = {}
        for arm in ARMS:
            summary = OUT / f"{arm}-{n}" / "training" / "summary.json"
            if summary.exists():
                f1[arm] = json.loads(summary.read_text())["dev"]["medical.ner"]["f1"]
        cells = [f"{f1[a]:.4f}" if a in f1 else "-" for a in ARMS]
        gain = f"{100 * (f1['b'] - f1['a']):+.1f} F1" if "a" in f1 and "b" in f1 else "-"
        print(f"| {n} | " + " | ".join(cells) + f" | {gain} |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arms", default="a,b,c")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--domain", type=Path, default=OUT / "medical-bc5cdr", help="the domain adapter's directory")
    p.add_argument("--domain-only", action="store_true")
    p.add_argument("--domain-steps", type=int, default=150, help="the domain adapter's training steps (batch 32)")
    p.add_argument("--seed", type=int, default=0, help="the tenant runs' seed (shuffling, dropout, head init)")
    p.add_argument("--out-suffix", default="", help="tenant runs go to <arm>-<size><suffix> (another domain adapter)")
    p.add_argument("--table", action="store_true")
    args = p.parse_args()
    COMMON[COMMON.index("--seed") + 1] = str(args.seed)
    if args.table:
        table()
        return 0
    needs_domain = any(arm in args.arms for arm in "bc")
    if args.domain_only or (needs_domain and not (args.domain / "hub_adapter.json").exists()):
        domain_adapter(args.domain, args.domain_steps)
        if args.domain_only:
            return 0
    for n in (int(x) for x in args.sizes.split(",")):
        for arm in args.arms.split(","):
            tenant(arm, n, args.domain, args.out_suffix)
    table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
