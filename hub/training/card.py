"""The metrics card (the artifact's README.md): what was trained, on what, and how well."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.engine.train.types import Mode, TrainOptions, TrainOutcome
from hub.training.evaluate import Evaluation

MODE_TITLES = {
    Mode.LORA: "LoRA adapter",
    Mode.FULL: "full fine-tune (baseline; not servable by the hub)",
    Mode.HEAD_ONLY: "head-only baseline (frozen backbone; served with a zero LoRA update)",
}


@dataclass(frozen=True)
class CardTask:
    task: str
    head_kind: str
    labels: Sequence[str]
    train_source: str
    train_examples: int
    dev_source: str
    unused_labels: Sequence[str] = ()  # labels no training example carries


def render_card(
    title: str,
    description: str,
    tasks: Sequence[CardTask],
    evaluations: Sequence[Evaluation],
    options: TrainOptions,
    outcome: TrainOutcome,
    command: str,
) -> str:
    lines = [f"# {title}", "", f"{MODE_TITLES[options.mode]} for Adapter Hub.", ""]
    if description:
        lines += [description, ""]
    lines += _task_lines(tasks) + _metric_lines(evaluations) + _training_lines(options, outcome)
    lines += ["", "```", command, "```", "", "![training curves](training/curves.png)", ""]
    return "\n".join(lines)


def _task_lines(tasks: Sequence[CardTask]) -> list[str]:
    lines = ["## Tasks", "", "| task | head | labels | training data | examples | dev data |", "|---" * 6 + "|"]
    for t in tasks:
        marked = [f"{x} (no examples)" if x in t.unused_labels else x for x in t.labels]
        labels = ", ".join(marked) if len(t.labels) <= 12 else f"{len(t.labels)} labels"
        lines.append(
            f"| `{t.task}` | {t.head_kind} | {labels} | {t.train_source} | {t.train_examples} | "
            f"{t.dev_source or '(none)'} |"
        )
    unused = [t for t in tasks if t.unused_labels]
    if unused:
        lines += ["", "Labels without a training example (the head never learned to predict them):", ""]
        lines += [f"- `{t.task}`: {', '.join(t.unused_labels)}" for t in unused]
    return lines


def _metric_lines(evaluations: Sequence[Evaluation]) -> list[str]:
    lines = ["", "## Dev metrics", ""]
    if not evaluations:
        return [*lines, "No dev set was given: nothing was measured."]
    lines += ["| task | examples | metric | value | all metrics |", "|---|---|---|---|---|"]
    for e in evaluations:
        others = ", ".join(f"{k} {v:.4f}" for k, v in e.metrics.items() if not k.startswith("f1."))
        lines.append(f"| `{e.task}` | {e.examples} | {e.headline} | **{e.score:.4f}** | {others} |")
    lines += ["", "Per-label F1:", ""]
    for e in evaluations:
        per_label = ", ".join(f"{k[3:]} {v:.3f}" for k, v in e.metrics.items() if k.startswith("f1."))
        lines.append(f"- `{e.task}`: {per_label or '(none)'}")
    return lines


def _training_lines(options: TrainOptions, outcome: TrainOutcome) -> list[str]:
    percent = 100.0 * outcome.trainable_parameters / max(1, outcome.backbone_parameters)
    best = outcome.best
    lines = [
        "",
        "## Training",
        "",
        f"- backbone: `{options.backbone}` (fingerprint `{outcome.backbone.fingerprint[:23]}...`)",
        f"- trainable parameters: {outcome.trainable_parameters:,} "
        f"({percent:.2f}% of the backbone's {outcome.backbone_parameters:,})",
    ]
    if options.mode is not Mode.FULL:
        lines.append(
            f"- LoRA: rank {options.rank}, alpha {options.alpha or 2 * options.rank:g}, "
            f"dropout {options.lora_dropout:g}, targets {', '.join(options.target_modules)}"
        )
    return [
        *lines,
        f"- steps: {outcome.steps} (batch {options.batch_size}, max length {options.max_seq_length}, "
        f"lr {options.lr:g}, head lr {options.head_lr if options.head_lr is not None else options.lr:g}, "
        f"seed {options.seed})",
        f"- best dev evaluation at step {best.step} (epoch {best.epoch:g}); saved as {options.save_dtype}"
        if best
        else f"- no dev evaluation; saved as {options.save_dtype}",
        f"- stopped early: {'yes' if outcome.stopped_early else 'no'}",
        f"- training time: {outcome.seconds:.0f} s on {options.device} "
        f"(torch threads: {options.threads or 'default'}), dev evaluations included",
    ]
