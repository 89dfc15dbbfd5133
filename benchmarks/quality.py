"""Quality: LoRA adapter vs full fine-tuning vs head-only, per corpus, with `adapter-hub train`.

Every run is the project's own command (printed, and recorded in each output's card); this
script only chooses the settings, runs them one at a time, and tabulates the summaries.

    .venv/bin/python benchmarks/quality.py --modes lora --ship      # the shipped examples/adapters
    .venv/bin/python benchmarks/quality.py --modes full,head_only   # the baselines (.hub-data/quality)
    .venv/bin/python benchmarks/quality.py --joint                  # one adapter, NCBI + BC5CDR heads
    .venv/bin/python benchmarks/quality.py --table                  # the BENCHMARKS.md tables, no training

Dev splits: NCBI-disease has its own devel file. The finance and unfair-ToS corpora only ship a
training file here, so `--holdout 0.2 --holdout-seed 0` keeps 20% of it aside, by document for
unfair-ToS (the reader gives each sentence its document): the distinct units (documents, or
rows) are sorted, shuffled with random.Random(0) and the first fifth held out
(hub.training.data.holdout_split). `adapter-hub eval --holdout 0.2` evaluates the same part.
Runs use one CPU thread (--threads 1): on a shared 2-core machine two threads per process
oversubscribe the cores and run several times slower.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SHIP = ROOT / "examples" / "adapters"
OUT = ROOT / ".hub-data" / "quality"
MODES = ("lora", "full", "head_only")
# LoRA and head-only artifacts are saved in float16 (half the bytes; the card's dev metrics are
# measured on the saved weights); the full fine-tune writes no weights
MODE_FLAGS = {
    "lora": ["--save-dtype", "float16"],
    "full": ["--full-finetune"],
    "head_only": ["--head-only", "--save-dtype", "float16"],
}


@dataclass(frozen=True)
class Corpus:
    name: str
    task: str
    train: str
    report: str  # the metric value the aim is stated in
    dev: str = ""
    holdout: float = 0.0
    title: str = ""
    description: str = ""
    common: list[str] = field(default_factory=list)  # every mode
    modes: dict[str, list[str]] = field(default_factory=dict)  # per mode


CORPORA = {
    c.name: c
    for c in (
        Corpus(
            "ncbi-disease-ner",
            "medical.ner",
            "medical/ncbi-disease/train.tsv",
            report="f1",
            dev="medical/ncbi-disease/devel.tsv",
            title="NCBI-disease NER (medical.ner)",
            description="Disease mentions, trained on the NCBI disease corpus (Dogan, Leaman, Lu 2014; "
            "CC BY 4.0 via cambridgeltl/MTL-Bioinformatics-2016). Strict entity-level F1 on its devel split.",
            common=["--metric", "f1"],
            modes={
                # 5 epochs gave 0.8125, still rising at the last evaluation
                "lora": ["--rank", "16", "--lr", "2e-3", "--epochs", "10"],
                "full": ["--lr", "1e-4", "--head-lr", "2e-3", "--epochs", "10"],
                "head_only": ["--lr", "5e-3", "--epochs", "10"],
            },
        ),
        Corpus(
            "finance-tweet-sentiment",
            "finance.sentiment",
            "finance/twitter-financial-news-sentiment/train.csv",
            report="accuracy",
            holdout=0.2,
            title="Financial tweet sentiment (finance.sentiment)",
            description="Bearish / Bullish / Neutral, trained on Twitter Financial News Sentiment v1.0.0 "
            "(zeroshot; MIT). Dev: 20% of its training file held out (--holdout 0.2 --holdout-seed 0).",
            common=["--metric", "accuracy"],
            modes={
                "lora": ["--rank", "16", "--lr", "2e-3", "--epochs", "4"],
                "full": ["--lr", "1e-4", "--head-lr", "2e-3", "--epochs", "4"],
                "head_only": ["--lr", "5e-3", "--epochs", "4"],
            },
        ),
        Corpus(
            "unfair-tos",
            "legal.unfair_clause",
            "legal/unfair-tos/train.tsv",
            report="macro_f1",
            holdout=0.2,
            title="Unfair Terms-of-Service clauses (legal.unfair_clause)",
            description="Potentially unfair clause categories (level >= 2) per sentence, trained on the "
            "CLAUDETTE English corpus (Galassi, Lagioia, Jablonowska, Lippi 2024; CC BY 4.0). Dev: 20% "
            "of the documents held out (--holdout 0.2 --holdout-seed 0).",
            common=["--metric", "macro_f1", "--pos-weight", "2"],
            modes={
                # at --lr 2e-3 the LoRA-adapted features drifted to one point on this corpus
                # (rare labels, mostly all-negative batches); a slower adapter, faster head is stable
                "lora": ["--rank", "16", "--lr", "5e-4", "--head-lr", "5e-3", "--epochs", "4"],
                "full": ["--lr", "1e-4", "--head-lr", "2e-3", "--epochs", "4"],
                "head_only": ["--lr", "5e-3", "--epochs", "4"],
            },
        ),
    )
}


# Multi-task: one LoRA adapter trained jointly on two NER corpora, a head each (batches sampled
# across the tasks); compared with the single-task NCBI adapter above. BC5CDR goes through the
# generic token task (labels from its data) read by the medical plugin's CoNLL reader.
JOINT_NAME = "ncbi-bc5cdr-joint"
JOINT_TASKS = (
    ("medical.ner", "medical/ncbi-disease/train.tsv", "medical/ncbi-disease/devel.tsv", ""),
    ("generic.token_classification", "medical/bc5cdr/train.tsv", "medical/bc5cdr/devel.tsv", "medical.conll"),
)
JOINT_FLAGS = ["--save-dtype", "float16", "--rank", "16", "--lr", "2e-3", "--epochs", "10"]


def output_dir(corpus: Corpus, mode: str, out: Path, ship: bool) -> Path:
    return SHIP / corpus.name if ship and mode == "lora" else out / f"{corpus.name}-{mode}"


def command(corpus: Corpus, mode: str, output: Path, data: Path) -> list[str]:
    argv = ["train", "--task", corpus.task, "--train", _relative(data / corpus.train)]
    if corpus.dev:
        argv += ["--dev", _relative(data / corpus.dev)]
    else:
        argv += ["--holdout", str(corpus.holdout), "--holdout-seed", "0"]
    argv += ["--output", _relative(output), "--overwrite", "--seed", "0", "--threads", "1", "--title", corpus.title]
    argv += ["--description", corpus.description, *MODE_FLAGS[mode], *corpus.common, *corpus.modes[mode]]
    return argv


def joint_command(output: Path, data: Path) -> list[str]:
    argv = ["train"]
    for task, train_file, dev_file, reader in JOINT_TASKS:
        argv += ["--task", task, "--train", _relative(data / train_file), "--dev", _relative(data / dev_file)]
        argv += ["--reader", reader] if reader else []
    title = "NCBI-disease + BC5CDR, one adapter (medical.ner + generic.token_classification)"
    argv += ["--output", _relative(output), "--overwrite", "--seed", "0", "--threads", "1", "--title", title]
    return argv + JOINT_FLAGS


def _relative(path: Path) -> str:
    """Paths as seen from the repository root (the commands run there): ../shared/data/..."""
    return os.path.relpath(path.resolve(), ROOT)


def run(command_argv: list[str]) -> None:
    argv = [str(ROOT / ".venv" / "bin" / "adapter-hub"), *command_argv]
    print("$ adapter-hub " + shlex.join(argv[1:]), flush=True)
    subprocess.run(argv, cwd=ROOT, check=True)


def summary(path: Path) -> dict[str, Any] | None:
    file = path / "training" / "summary.json"
    return json.loads(file.read_text()) if file.is_file() else None


def table(corpora: list[Corpus], out: Path) -> str:
    rows = [
        "| corpus (dev split) | method | trainable params (% of backbone) | training time | dev metric (best "
        "evaluation) | at the last evaluation | other dev metrics (best evaluation) |",
        "|---|---|---|---|---|---|---|",
    ]
    for corpus in corpora:
        for mode in MODES:
            output = output_dir(corpus, mode, out, ship=mode == "lora")
            found = summary(output)
            if found is None:
                rows.append(f"| {corpus.name} | {mode} | | | (not run) | | |")
                continue
            t, dev = found["training"], found["dev"].get(corpus.task, {})
            best = dev.get(corpus.report, float("nan"))
            rows.append(
                f"| {corpus.name} | {mode} | {_trainable(t)} | {_time(t)} | **{corpus.report} {best:.4f}** | "
                f"{_last_score(output)} | {_others(dev, corpus.report)} |"
            )
    return "\n".join(rows)


def joint_table(out: Path) -> str:
    found = summary(out / JOINT_NAME)
    if found is None:
        return f"(the joint run has not run: no {out / JOINT_NAME})"
    t = found["training"]
    rows = [
        "| task (dev split) | trainable params (% of backbone) | training time | dev F1 | other dev metrics |",
        "|---|---|---|---|---|",
    ]
    for task, _, dev_file, _ in JOINT_TASKS:
        dev = found["dev"].get(task, {})
        rows.append(
            f"| {task} ({dev_file}) | {_trainable(t)} | {_time(t)} | **f1 {dev.get('f1', float('nan')):.4f}** | "
            f"{_others(dev, 'f1')} |"
        )
    return "\n".join(rows)


def _last_score(path: Path) -> str:
    """The selecting metric at the final evaluation: the best one is picked on the dev split it
    is reported on, so the last one shows how much that choice flatters it."""
    evals = json.loads((path / "training" / "history.json").read_text())["evals"]
    return f"{evals[-1]['score']:.4f} (of {len(evals)})" if evals else ""


def _trainable(t: dict[str, Any]) -> str:
    return f"{t['trainable_parameters']:,} ({t['trainable_percent']:.2f}%)"


def _time(t: dict[str, Any]) -> str:
    return f"{t['seconds'] / 60:.1f} min, {t['steps']} steps"


def _others(dev: dict[str, float], report: str) -> str:
    """The task's other metrics, without per-label ones (their names carry a dot)."""
    return ", ".join(f"{k} {v:.3f}" for k, v in dev.items() if k != report and "." not in k)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", default=",".join(CORPORA), help="comma-separated (default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated lora,full,head_only")
    parser.add_argument("--ship", action="store_true", help="LoRA runs write examples/adapters/<corpus>")
    parser.add_argument("--out", type=Path, default=OUT, help="where the other runs go (default .hub-data/quality)")
    parser.add_argument("--data", type=Path, default=DATA, help="the corpora (default ../shared/data)")
    parser.add_argument("--joint", action="store_true", help="run only the multi-task NCBI + BC5CDR adapter")
    parser.add_argument("--table", action="store_true", help="only print the tables of what has run")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    corpora = [CORPORA[name] for name in args.corpora.split(",")]
    modes = [m for m in args.modes.split(",") if m]
    if args.table:
        print(table(corpora, args.out) + "\n\n" + joint_table(args.out))
        return 0
    if not args.data.is_dir() and not args.dry_run:
        print(f"the corpora are not in {args.data}: see ../shared/data/README.md", file=sys.stderr)
        return 2
    if args.joint:
        joint = joint_command(args.out / JOINT_NAME, args.data)
        if args.dry_run:
            print("adapter-hub " + shlex.join(joint))
        else:
            run(joint)
            print(joint_table(args.out))
        return 0
    for corpus in corpora:
        for mode in modes:
            output = output_dir(corpus, mode, args.out, args.ship)
            if args.dry_run:
                print("adapter-hub " + shlex.join(command(corpus, mode, output, args.data)))
            else:
                run(command(corpus, mode, output, args.data))
    if not args.dry_run:
        print(table(corpora, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
