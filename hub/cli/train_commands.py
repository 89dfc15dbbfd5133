"""`adapter-hub train` and `adapter-hub eval`: the command line over hub.training."""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters_registry.manifest import Pooling
from hub.cli.train_base import add_base_options, resolve_base
from hub.config.settings import Settings
from hub.engine.train.types import EvalRecord, Mode, Observer, TrainOptions, parse_head_layers
from hub.errors import DomainError
from hub.tasks.datasets import ReaderOptions
from hub.training.data import TaskInput

if TYPE_CHECKING:
    from hub.plugins.manager import HubPlugins

DEFAULT_LR = {Mode.LORA: 1e-3, Mode.FULL: 5e-5, Mode.HEAD_ONLY: 5e-3}


class _TaskAction(argparse.Action):
    """--task starts a task; the --train / --dev / --reader after it belong to that task."""

    def __call__(self, parser, namespace, values, option_string=None):
        tasks: list[TaskInput] = getattr(namespace, "tasks", None) or []
        if self.dest == "tasks":
            tasks.append(TaskInput(str(values)))
        elif not tasks:
            parser.error(f"{option_string} must follow the --task it belongs to")
        else:
            value = str(values) if self.dest == "reader" else Path(str(values))
            setattr(tasks[-1], self.dest, value)
        namespace.tasks = tasks


def add_training_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    _add_train_parser(sub)
    _add_eval_parser(sub, common)


def _add_train_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a LoRA adapter with task heads on the frozen backbone",
        description="Fine-tune a LoRA adapter plus one head per task on the frozen backbone, from files "
        "read by the tasks' plugin readers; write the artifact (ready for `adapter-hub push`), its "
        "metrics card and training curves to --output. Several --task blocks train one adapter "
        "with several heads jointly.",
    )
    p.set_defaults(handler=cmd_train, tasks=[])
    g = p.add_argument_group("data (repeat --task for a multi-task adapter)")
    g.add_argument("--task", dest="tasks", action=_TaskAction, metavar="TASK", help="a task the server offers")
    g.add_argument("--train", dest="train", action=_TaskAction, metavar="PATH", help="its training file")
    g.add_argument("--dev", dest="dev", action=_TaskAction, metavar="PATH", help="its dev file (optional)")
    g.add_argument("--reader", dest="reader", action=_TaskAction, metavar="NAME", help="reader other than the task's")
    g.add_argument("--holdout", type=float, default=0.0, metavar="FRACTION",
                   help="hold out this part of a training file as dev when the task has no --dev; by "
                   "document when the reader gives documents (default: none)")  # fmt: skip
    g.add_argument("--holdout-seed", type=int, default=0, help="seed of the held-out split (default 0)")
    _add_column_options(g)
    _add_model_options(p)
    add_base_options(p)
    g = p.add_argument_group("optimization")
    g.add_argument("--lr", type=float, default=None,
                   help="learning rate (default 1e-3 LoRA, 5e-5 full fine-tune, 5e-3 head-only)")  # fmt: skip
    g.add_argument("--head-lr", type=float, default=None, help="heads' learning rate (default: --lr)")
    g.add_argument("--pos-weight", type=float, default=None,
                   help="multi-label heads: loss weight of positive labels (default 1)")  # fmt: skip
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--warmup-ratio", type=float, default=0.06)
    g.add_argument("--epochs", type=float, default=3.0, help="passes over the data (default 3)")
    g.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (overrides --epochs)")
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--eval-batch-size", type=int, default=64)
    g.add_argument("--max-seq-length", type=int, default=128, help="training truncation (default 128)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--eval-every", type=int, default=None, help="steps between dev evaluations (default: each epoch)")
    g.add_argument("--metric", default="",
                   help="dev value that picks the best step, e.g. accuracy (default: the headline)")  # fmt: skip
    g.add_argument("--patience", type=int, default=None,
                   help="stop after this many dev evaluations without improvement (default: never)")  # fmt: skip
    g.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    g = p.add_argument_group("output")
    g.add_argument("--save-dtype", choices=["float32", "float16", "bfloat16"], default="float32",
                   help="dtype of the saved tensors; float16 halves the artifact (dev metrics are "
                   "measured on the saved weights)")  # fmt: skip
    g.add_argument("--title", default="", help="the metrics card's title (default: the directory name)")
    g.add_argument("--description", default="", help="free text for the manifest and the card")
    g.add_argument("--overwrite", action="store_true", help="replace an artifact already in --output")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def _add_model_options(p: Any) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--output", "-o", required=True, type=Path, help="artifact directory to write")
    g.add_argument("--backbone", default=None, help="backbone (default: the server setting, ADAPTER_HUB_BACKBONE)")
    g.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--full-finetune", action="store_true", help="baseline: train every backbone weight")
    mode.add_argument("--head-only", action="store_true", help="baseline: frozen backbone, heads only")
    g.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    g.add_argument("--alpha", type=int, default=None, help="LoRA alpha (default 2 x rank)")
    g.add_argument("--lora-dropout", type=float, default=0.1, help="default 0.1")
    g.add_argument("--target-modules", default="",
                   help="comma-separated Linear names LoRA adapts (default: every Linear of the backbone, "
                   "by its own names: query,key,value,dense for BERT, q_lin,k_lin,... for DistilBERT, "
                   "Wqkv,Wo,Wi for ModernBERT)")  # fmt: skip
    g.add_argument("--head-layers", default="",
                   help="layers between the pooled features and each classifier: 'family' (the head the "
                   "backbone family's task models build, e.g. RoBERTa's dense + tanh) or a list such as "
                   "linear,tanh or linear,gelu,layer_norm (default: the classifier alone)")  # fmt: skip
    g.add_argument("--pooling", choices=[x.value for x in Pooling], default=None,
                   help="how sequence heads pool the tokens (default mean; the family's with "
                   "--head-layers family)")  # fmt: skip
    g.add_argument("--threshold", type=float, default=0.5, help="multi-label decision threshold (default 0.5)")


def _add_eval_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "eval",
        parents=[common],
        help="a task's metrics for an adapter on a dataset",
        description="Evaluate an adapter on a dataset with the task's metric: a DIRECTORY is loaded "
        "in-process (through the same service code a server runs); a NAME[@VERSION] is asked of "
        "the running hub at --target. Both give the same numbers.",
    )
    p.set_defaults(handler=cmd_eval)
    p.add_argument("--adapter", required=True, metavar="DIR_OR_NAME")
    p.add_argument("--task", required=True)
    p.add_argument("--data", required=True, type=Path, help="dataset file, read by the task's reader")
    p.add_argument("--reader", default="", help="reader other than the task's")
    p.add_argument("--holdout", type=float, default=0.0, metavar="FRACTION",
                   help="evaluate only the part `train --holdout FRACTION` held out of this file")  # fmt: skip
    p.add_argument("--holdout-seed", type=int, default=0)
    _add_column_options(p)
    p.add_argument("--backbone", default=None, help="in-process only: backbone (default: server setting)")
    p.add_argument("--device", default="cpu", help="in-process only: device (default cpu)")
    p.add_argument("--batch-size", type=int, default=64, help="texts per request (default 64)")


COLUMN_DEFAULTS = {"text_column": "text", "label_column": "label"}


def _add_column_options(g: Any) -> None:
    g.add_argument("--text-column", default="text",
                   help="CSV / TSV / JSON Lines: the column holding the text (default text)")  # fmt: skip
    g.add_argument("--label-column", default="label",
                   help="CSV / TSV / JSON Lines: the column holding the label(s) (default label)")  # fmt: skip
    g.add_argument("--label-separator", default="",
                   help="multi-label: the separator between labels in one cell, e.g. '|' (a JSON list "
                   "such as [\"a\", \"b\"] always works)")  # fmt: skip


def reader_options(args: argparse.Namespace) -> ReaderOptions:
    return ReaderOptions(args.text_column, args.label_column, args.label_separator)


class ProgressBar(Observer):
    """A tqdm bar on stderr: step, smoothed loss, last and best dev metric."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.loss: float | None = None
        self.dev = ""

    def start(self, total_steps: int) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, desc="train", unit="step", file=sys.stderr, dynamic_ncols=True,
                            mininterval=0.5 if sys.stderr.isatty() else 10.0)  # fmt: skip

    def step(self, step: int, loss: float) -> None:
        self.loss = loss if self.loss is None else 0.95 * self.loss + 0.05 * loss
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"loss {self.loss:.4f}{self.dev}", refresh=False)

    def evaluated(self, record: EvalRecord, best: bool) -> None:
        self.dev = f" dev {record.score:.4f}{' *' if best else ''}"
        if self.bar is not None:
            self.bar.set_postfix_str(f"loss {self.loss or 0:.4f}{self.dev}")
        else:
            print(f"step {record.step}: dev {record.score:.4f}{' (best)' if best else ''}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _options(args: argparse.Namespace, backbone: str) -> TrainOptions:
    mode = Mode.FULL if args.full_finetune else Mode.HEAD_ONLY if args.head_only else Mode.LORA
    return TrainOptions(
        backbone=backbone,
        mode=mode,
        rank=args.rank,
        alpha=args.alpha,
        lora_dropout=args.lora_dropout,
        target_modules=tuple(x.strip() for x in args.target_modules.split(",") if x.strip()),
        head_layers=args.head_layers,
        lr=args.lr if args.lr is not None else DEFAULT_LR[mode],
        head_lr=args.head_lr,
        pos_weight=args.pos_weight,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size,
        max_seq_length=args.max_seq_length,
        seed=args.seed,
        eval_every=args.eval_every,
        patience=args.patience,
        threads=args.threads,
        device=args.device,
        save_dtype=args.save_dtype,
    )


def command_line(args: argparse.Namespace) -> str:
    """The run as one reproducible command: every task block and every option that was set."""
    argv = ["train"]
    for t in args.tasks:
        argv += ["--task", t.task, "--train", str(t.train)]
        argv += ["--dev", str(t.dev)] if t.dev else []
        argv += ["--reader", t.reader] if t.reader else []
    skip = {"tasks", "train", "dev", "reader", "handler", "command", "json", "no_progress", "overwrite", "api_key"}
    if not args.base or Path(args.base).is_dir():
        skip.add("target")
    if not args.holdout:
        skip |= {"holdout", "holdout_seed"}
    skip |= {name for name, default in COLUMN_DEFAULTS.items() if getattr(args, name, default) == default}
    for name, value in vars(args).items():
        if name in skip or value is None or value is False or value == "":
            continue
        flag = "--" + name.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return "adapter-hub " + shlex.join(argv)


def _plugins(tasks: list[str]) -> tuple[Settings, HubPlugins]:
    """This environment's plugins, which must offer ``tasks`` (clear errors: hub/cli/plugins.py)."""
    from hub.cli.plugins import local_plugins, require_local_tasks

    settings = Settings.from_env()
    plugins = local_plugins(settings)
    require_local_tasks(plugins, tasks)
    return settings, plugins


def _quiet_loading() -> None:
    """Our progress bar is the only one: not the model loader's (read when transformers loads)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _user_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A user's mistake (a task, a file, a reader, a backbone, an option) is one line on stderr,
    ``error: ...``, and exit status 2: never a traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        except OSError as exc:  # a file or directory the user named: unreadable, not writable
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return run


@_user_errors
def cmd_train(args: argparse.Namespace) -> int:
    from hub.training.run import TrainRequest, train

    parse_head_layers(args.head_layers)  # a typo fails before the backbone loads
    _quiet_loading()
    settings, plugins = _plugins([t.task for t in args.tasks])
    options = reader_options(args)
    base, base_files = resolve_base(args)  # before the backbone loads: a wrong reference fails fast
    request = TrainRequest(
        inputs=[dataclasses.replace(t, options=options) for t in args.tasks],
        options=_options(args, args.backbone or settings.backbone),
        output=args.output,
        holdout=args.holdout,
        holdout_seed=args.holdout_seed,
        pooling=Pooling(args.pooling) if args.pooling else None,
        threshold=args.threshold,
        select_metric=args.metric,
        title=args.title,
        description=args.description,
        command=command_line(args),
        overwrite=args.overwrite,
        base=base,
        base_files=base_files,
    )
    report = train(request, plugins.catalog, ProgressBar(not args.no_progress and not args.json))
    o = report.outcome
    result = {
        "output": str(report.output),
        "servable": report.servable,
        "steps": o.steps,
        "seconds": round(o.seconds, 1),
        "trainable_parameters": o.trainable_parameters,
        "dev": [e.to_json() for e in report.evaluations],
        "warnings": report.warnings,
    }
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    percent = 100.0 * o.trainable_parameters / max(1, o.backbone_parameters)
    print(f"trained {o.steps} steps in {o.seconds:.0f} s; {o.trainable_parameters:,} trainable parameters "
          f"({percent:.2f}% of the backbone)")  # fmt: skip
    for e in report.evaluations:
        print(f"dev {e.task}: {e.headline} {e.score:.4f}  ({e.examples} examples)")
    where = f"push it with: adapter-hub push {report.output} --name NAME" if report.servable else (
        "a full fine-tune changes the backbone: the hub cannot serve it (metrics and curves only)"
    )  # fmt: skip
    print(f"wrote {report.output} (curves: {report.curves}); {where}")
    return 0


@_user_errors
def cmd_eval(args: argparse.Namespace) -> int:
    from hub.training.inprocess import EvalData, eval_examples, evaluate_directory

    _quiet_loading()
    settings, plugins = _plugins([args.task])
    data = EvalData(args.task, args.data, args.reader, args.holdout, args.holdout_seed, reader_options(args))
    directory = Path(args.adapter)
    if directory.is_dir():
        settings = dataclasses.replace(settings, backbone=args.backbone or settings.backbone, device=args.device)
        evaluation = evaluate_directory(directory, data, plugins, settings, args.batch_size)
        source = "in-process"
    else:
        from hub.cli.remote_eval import evaluate_remote

        spec = plugins.catalog.tasks.get(args.task)
        examples = eval_examples(plugins.catalog, data)
        metric = plugins.catalog.metrics[spec.metric]
        evaluation = evaluate_remote(args, spec.head_kind, metric, examples)
        source = f"server {args.target}"
    if args.json:
        json.dump({"adapter": args.adapter, "source": source, **evaluation.to_json()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"# {args.adapter} ({source}), task {evaluation.task}, {evaluation.examples} examples of {args.data}")
    for name, value in evaluation.metrics.items():
        mark = "*" if name == evaluation.headline else " "
        print(f"  {mark} {name:<28} {value:.4f}")
    return 0
