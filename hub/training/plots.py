"""The training curves as a PNG (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

from hub.engine.train.types import History

SMOOTHING = 10  # loss records per point of the moving mean


def plot_curves(history: History, path: Path, title: str, headlines: dict[str, str]) -> Path:
    """Training loss per step on the left, each task's dev headline metric on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100)
    try:
        steps = [s.step for s in history.steps]
        losses = [s.loss for s in history.steps]
        left.plot(steps, losses, color="tab:blue", linewidth=0.8, alpha=0.35, label="recorded")
        left.plot(steps, _smooth(losses), color="tab:blue", linewidth=1.6, label="moving mean")
        left.legend(fontsize=8, loc="upper right")
        left.set_xlabel("step")
        left.set_ylabel("training loss")
        left.set_title("loss")
        left.grid(alpha=0.3)
        for task, headline in headlines.items():
            points = [(e.step, e.metrics[task][headline]) for e in history.evals if task in e.metrics]
            if points:
                xs, ys = zip(*points, strict=True)
                right.plot(xs, ys, marker="o", markersize=3, label=f"{task} {headline}")
        right.set_xlabel("step")
        right.set_ylabel("dev metric")
        right.set_title("dev")
        right.grid(alpha=0.3)
        if history.evals:
            right.legend(fontsize=8, loc="lower right")
        else:
            right.text(0.5, 0.5, "no dev set", ha="center", va="center", transform=right.transAxes)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, metadata={"Software": None})
    finally:
        plt.close(fig)
    return path


def _smooth(values: list[float], window: int = SMOOTHING) -> list[float]:
    """Trailing mean over the last ``window`` points (fewer at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out
