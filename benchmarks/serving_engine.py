"""Engine arms of bench_serving: bare backbone vs hub engine vs PEFT ``adapter_names`` batch.

All three get the same token ids (exactly ``seq`` tokens per row, no padding) and run one
forward each, interleaved round by round so drift on a shared machine hits every arm alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from serving_fixtures import AdapterFiles, artifact, make_adapters, peft_model

from hub.engine.engine import Row
from hub.engine.packing import PackedAdapter, PackedHead
from hub.engine.runtime import Runtime


@dataclass
class EngineSetup:
    runtime: Runtime
    bare: torch.nn.Module
    adapters: list[AdapterFiles]
    packed: list[PackedAdapter]
    peft: torch.nn.Module | None


def setup_engine(runtime: Runtime, max_adapters: int, with_peft: bool) -> EngineSetup:
    from transformers import AutoModel

    backbone = runtime.backbone
    spec = backbone.spec
    adapters = make_adapters(max_adapters, spec)
    packed = pack_all(runtime, adapters)
    bare = AutoModel.from_pretrained(backbone.path, local_files_only=True, dtype=torch.float32)
    bare = bare.to(device=backbone.device, dtype=backbone.dtype).eval()
    peft = peft_model(str(backbone.path), adapters, backbone.device, backbone.dtype) if with_peft else None
    return EngineSetup(runtime, bare, adapters, packed, peft)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def bench_engine(
    setup: EngineSetup, batch: int, seq: int, distinct: list[int], repeats: int
) -> list[dict[str, float | int]]:
    """One row per distinct-adapter count: median seconds per forward for each arm."""
    device = setup.runtime.backbone.device
    vocab = int(getattr(setup.bare, "config").vocab_size)  # noqa: B009
    gen = torch.Generator().manual_seed(batch * 1000 + seq)
    ids = torch.randint(1000, vocab - 1, (batch, seq), generator=gen)
    ids[:, 0], ids[:, -1] = 101, 102
    inputs = {
        "input_ids": ids.to(device),
        "attention_mask": torch.ones_like(ids).to(device),
        "token_type_ids": torch.zeros_like(ids).to(device),
    }
    engine = setup.runtime.engine
    arms: dict[str, Callable[[], object]] = {"bare": lambda: setup.bare(**inputs)}
    for k in distinct:
        chosen = setup.packed[:k]
        rows = [Row("", chosen[i % k], _head(chosen[i % k])) for i in range(batch)]
        arms[f"hub{k}"] = partial(engine.forward_encoded, rows, inputs)
        if setup.peft is not None:
            names = [setup.adapters[i % k].name for i in range(batch)]
            arms[f"peft{k}"] = lambda names=names: setup.peft(**inputs, adapter_names=names)  # type: ignore[misc]
    times: dict[str, list[float]] = {name: [] for name in arms}
    names = list(arms)
    with torch.inference_mode():
        for fn in arms.values():  # warm-up: allocator, bank loads, PEFT hooks
            fn()
        for r in range(repeats):  # every round starts at another arm: no arm always follows another
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[name].append(_timed(arms[name], device))
    bare = statistics.median(times["bare"])
    rows_out: list[dict[str, float | int]] = []
    for k in distinct:
        hub = statistics.median(times[f"hub{k}"])
        row: dict[str, float | int] = {
            "batch": batch,
            "seq": seq,
            "distinct": k,
            "bare_s": bare,
            "hub_s": hub,
            "hub_vs_bare": hub / bare,
        }
        if setup.peft is not None:
            peft = statistics.median(times[f"peft{k}"])
            row.update(peft_s=peft, peft_vs_bare=peft / bare, peft_vs_hub=peft / hub)
        rows_out.append(row)
    return rows_out


def _head(packed: PackedAdapter) -> PackedHead:
    return next(iter(packed.heads.values()))


def pack_all(runtime: Runtime, adapters: list[AdapterFiles]) -> list[PackedAdapter]:
    spec = runtime.backbone.spec
    packed = []
    for a in adapters:
        art = artifact(a, spec)
        packed.append(runtime.pack(a.name, art.files, art.manifest))
    return packed


def bench_precision(
    reference: Runtime,
    variants: dict[str, Runtime],
    adapters: list[AdapterFiles],
    texts: list[str],
    batch: int,
    seq: int,
    repeats: int,
) -> list[dict[str, float | int | str]]:
    """Speed and accuracy of each variant against ``reference`` (float32) on the same rows.

    Accuracy: the largest and mean absolute difference of the served probabilities (every
    label of every row, every token of token rows) and how often the top label agrees.
    """
    arms = {"float32": reference, **variants}
    packed = {name: pack_all(rt, adapters) for name, rt in arms.items()}
    k = len(adapters)
    scored = {
        name: rt.engine.run([Row(t, packed[name][i % k], _head(packed[name][i % k])) for i, t in enumerate(texts)])
        for name, rt in arms.items()
    }
    ids = torch.randint(1000, 30000, (batch, seq), generator=torch.Generator().manual_seed(5))
    timings: dict[str, list[float]] = {name: [] for name in arms}
    calls = {}
    for name, rt in arms.items():
        device = rt.backbone.device
        inputs = {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device)}
        rows = [Row("", packed[name][i % k], _head(packed[name][i % k])) for i in range(batch)]
        calls[name] = (lambda rt=rt, rows=rows, inputs=inputs: rt.engine.forward_encoded(rows, inputs), device)
        calls[name][0]()
    for _ in range(repeats):
        for name, (fn, device) in calls.items():
            timings[name].append(_timed(fn, device))
    base_time = statistics.median(timings["float32"])
    out: list[dict[str, float | int | str]] = []
    for name in arms:
        diffs, agree, total = [], 0, 0
        for ref, got in zip(scored["float32"], scored[name], strict=True):
            diffs.append(abs(ref.probs.astype("float64") - got.probs.astype("float64")).ravel())
            a, b = ref.probs.argmax(-1), got.probs.argmax(-1)
            agree += int((a == b).sum())
            total += int(a.size)
        flat = torch.tensor([d for part in diffs for d in part.tolist()])
        median = statistics.median(timings[name])
        out.append(
            {
                "variant": name,
                "forward_s": median,
                "vs_float32": median / base_time,
                "max_abs_dprob": float(flat.max()),
                "mean_abs_dprob": float(flat.mean()),
                "top1_agreement": agree / total,
            }
        )
    return out
