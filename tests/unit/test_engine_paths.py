"""The engine's batching paths, each checked row by row against PEFT or the engine itself:
many adapters of mixed ranks and target sets in one batch, bank eviction and reload,
re-packed adapters, rows without adapter, dynamic int8."""

from __future__ import annotations

import random
import threading
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from hub.engine.backbone import load_backbone
from hub.engine.bank import LoraBank, rank_bucket
from hub.engine.engine import Engine, Row
from hub.engine.packing import PackedAdapter, pack_adapter
from tests.helpers import artifact_from_dir, make_peft_adapter, make_tiny_backbone

TEXTS = [
    "Aspirin reduced the risk of colorectal cancer.",
    "Shares of $TSLA jumped 5% after earnings.",
    "We may terminate your account at any time without notice.",
    "short",
    "The company reported a loss in the third quarter of the year.",
]
# (task type, rank, targets): ranks 1..32 land in buckets 8, 16 and 32; target sets differ.
ADAPTERS = [
    ("SEQ_CLS", 1, ["query", "value"]),
    ("SEQ_CLS", 2, ["query", "key", "value", "dense"]),
    ("TOKEN_CLS", 4, ["query", "key", "value", "dense"]),
    ("SEQ_CLS", 8, ["query", "key", "value", "dense"]),
    ("SEQ_CLS", 8, ["dense"]),
    ("TOKEN_CLS", 12, ["key", "dense"]),
    ("SEQ_CLS", 16, ["query", "key", "value", "dense"]),
    ("SEQ_CLS", 32, ["value"]),
    ("TOKEN_CLS", 8, ["query", "key", "value", "dense"]),
    ("SEQ_CLS", 4, ["query", "key", "value", "dense"]),
]
TOKEN_LABELS = ("O", "B-E0", "I-E0")
SEQ_LABELS = ("L0", "L1", "L2")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("paths")
    backbone_dir = make_tiny_backbone(root / "backbone", seed=3)
    spec = load_backbone(str(backbone_dir), device="cpu").spec
    adapters = []
    for i, (task_type, rank, targets) in enumerate(ADAPTERS):
        token = task_type == "TOKEN_CLS"
        labels = TOKEN_LABELS if token else SEQ_LABELS
        path = make_peft_adapter(
            backbone_dir, root / f"a{i}", task_type=task_type, num_labels=len(labels), rank=rank,
            seed=40 + i, target_modules=targets,
        )  # fmt: skip
        task = "generic.token_classification" if token else "generic.sequence_classification"
        adapters.append((path, task_type, task, labels, artifact_from_dir(path, spec, task, labels)))
    return backbone_dir, adapters


def _engine(backbone_dir: Path, **kwargs) -> Engine:  # type: ignore[no-untyped-def]
    return Engine(load_backbone(str(backbone_dir), device="cpu"), **kwargs)


def _pack(engine: Engine, adapters) -> list[PackedAdapter]:  # type: ignore[no-untyped-def]
    return [pack_adapter(f"a{i}", a[4].files, a[4].manifest, engine.backbone) for i, a in enumerate(adapters)]


@cache
def _peft(backbone_dir: Path, path: Path, task_type: str, num_labels: int):  # type: ignore[no-untyped-def]
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    cls = AutoModelForTokenClassification if task_type == "TOKEN_CLS" else AutoModelForSequenceClassification
    return PeftModel.from_pretrained(cls.from_pretrained(backbone_dir, num_labels=num_labels), path).eval()


def peft_probs(backbone_dir: Path, adapter, text: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    path, task_type, _, labels, _ = adapter
    model = _peft(backbone_dir, path, task_type, len(labels))
    with torch.no_grad():
        logits = model(**AutoTokenizer.from_pretrained(backbone_dir)([text], return_tensors="pt")).logits[0]
    return logits.softmax(-1).numpy()


def _rows(packed: list[PackedAdapter], adapters, picks: list[int]) -> list[Row]:  # type: ignore[no-untyped-def]
    return [Row(TEXTS[j % len(TEXTS)], packed[k], packed[k].heads[adapters[k][2]]) for j, k in enumerate(picks)]


def test_rank_buckets() -> None:
    assert [rank_bucket(r) for r in (1, 7, 8, 9, 16, 17, 64)] == [8, 8, 8, 16, 16, 32, 64]


def test_many_adapters_mixed_ranks_and_targets_match_peft_per_row(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    packed = _pack(engine, adapters)
    picks = [k for k in range(len(adapters)) for _ in range(2)]
    random.Random(0).shuffle(picks)
    rows = _rows(packed, adapters, picks)
    bare_head = packed[0].heads[adapters[0][2]]
    rows.insert(3, Row(TEXTS[0], None, bare_head))  # rows without adapter, anywhere
    rows.append(Row(TEXTS[1], None, bare_head))
    results = engine.run(rows)
    assert set(engine.bank.buckets) == {8, 16, 32}
    for row, got in zip(rows, results, strict=True):
        if row.adapter is None:
            continue
        k = packed.index(row.adapter)
        np.testing.assert_allclose(got.probs, peft_probs(backbone_dir, adapters[k], row.text), atol=1e-4)
    alone = engine.run([Row(TEXTS[0], None, bare_head), Row(TEXTS[1], None, bare_head)])
    np.testing.assert_allclose(results[3].probs, alone[0].probs, atol=1e-5)
    np.testing.assert_allclose(results[-1].probs, alone[1].probs, atol=1e-5)


def test_batch_order_does_not_change_any_row(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    packed = _pack(engine, adapters)
    picks = list(range(len(adapters))) * 2
    rows = _rows(packed, adapters, picks)
    forward = engine.run(rows)
    backward = engine.run(rows[::-1])[::-1]
    one_by_one = [engine.run([row])[0] for row in rows]
    for a, b, c in zip(forward, backward, one_by_one, strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)
        np.testing.assert_allclose(a.probs, c.probs, atol=1e-5)


def test_bank_evicts_least_recent_and_reloads_identically(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    engine.bank = LoraBank(engine.bank.shapes, engine.bank.device, engine.bank.dtype, 1, initial_slots=2)
    packed = _pack(engine, adapters)
    same_bucket = [k for k, (_, rank, _) in enumerate(ADAPTERS) if rank_bucket(rank) == 8]
    first = _rows(packed, adapters, same_bucket[:3])
    before = engine.run(first)  # three adapters in a 2-slot bucket: it grows, nothing evicted
    assert engine.bank.stats.evictions == 0
    engine.run(_rows(packed, adapters, same_bucket[3:6]))  # over budget: evicts the oldest
    assert engine.bank.stats.evictions > 0
    after = engine.run(first)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)


def test_a_repacked_adapter_gets_its_own_slot(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    once, twice = (_pack(engine, adapters[:1])[0] for _ in range(2))
    assert once.uid != twice.uid
    task = adapters[0][2]
    results = engine.run([Row(TEXTS[0], once, once.heads[task]), Row(TEXTS[0], twice, twice.heads[task])])
    assert len(engine.bank) == 2
    np.testing.assert_allclose(results[0].probs, results[1].probs, atol=1e-6)


def test_single_adapter_batch_uses_plain_matmuls_and_matches_peft(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    packed = _pack(engine, adapters)
    k = 6  # rank 16, all linear layers
    rows = _rows(packed, adapters, [k] * len(TEXTS))
    _, plan = engine._plan(rows)
    assert plan is not None and [g.slots for g in plan.groups] == [None]
    for row, got in zip(rows, engine.run(rows), strict=True):
        np.testing.assert_allclose(got.probs, peft_probs(backbone_dir, adapters[k], row.text), atol=1e-4)


def test_dynamic_int8_backbone_stays_close_to_float32(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    exact, quantized = _engine(backbone_dir), _engine(backbone_dir, quantize="int8")
    picks = list(range(len(adapters)))
    a = exact.run(_rows(_pack(exact, adapters), adapters, picks))
    b = quantized.run(_rows(_pack(quantized, adapters), adapters, picks))
    base = quantized.layers["encoder.layer.0.attention.self.query"].base
    assert type(base).__module__.startswith("torch.ao.nn.quantized.dynamic")
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.probs, y.probs, atol=0.05)


def test_quantize_is_checked() -> None:
    from hub.engine.precision import check_quantize
    from hub.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="one of"):
        check_quantize("int4", torch.device("cpu"), torch.float32)
    with pytest.raises(InvalidArgument, match="float32"):
        check_quantize("int8", torch.device("cpu"), torch.bfloat16)


def test_encoding_on_other_threads_does_not_disturb_a_padded_batch(world) -> None:  # type: ignore[no-untyped-def]
    """Requests encode their texts on gRPC threads while the batcher's thread runs a batch:
    a shared fast tokenizer would un-pad the batch mid-call ("Unable to create tensor")."""
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    packed = _pack(engine, adapters)
    rows = _rows(packed, adapters, list(range(len(adapters))))
    expected = engine.run(rows)
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            engine.encode(TEXTS[:3])

    counters = [threading.Thread(target=count) for _ in range(4)]
    for t in counters:
        t.start()
    try:
        runs = [engine.run(rows) for _ in range(30)]
    finally:
        stop.set()
        for t in counters:
            t.join()
    for again in runs:
        for a, b in zip(expected, again, strict=True):
            np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)


def test_length_split_forwards_give_the_same_rows(world) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    split, whole = _engine(backbone_dir, split_overhead=0), _engine(backbone_dir, split_overhead=10**9)
    texts = [TEXTS[3], TEXTS[4] * 3, TEXTS[0], "a b", TEXTS[2] * 2, TEXTS[1]]
    results = []
    for engine in (split, whole):
        packed = _pack(engine, adapters)
        rows = [
            Row(t, packed[k], packed[k].heads[adapters[k][2]]) for k, t in zip([2, 5, 0, 8, 3, 6], texts, strict=True)
        ]
        results.append(engine.run(rows))
    assert split.forwards > 1 and whole.forwards == 1
    for a, b in zip(*results, strict=True):
        assert a.probs.shape == b.probs.shape
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)


def test_a_collected_adapter_frees_its_bank_slot(world) -> None:  # type: ignore[no-untyped-def]
    import gc

    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    packed = _pack(engine, adapters[:2])
    head = packed[0].heads[adapters[0][2]]
    engine.run([Row(TEXTS[0], packed[0], head), Row(TEXTS[0], packed[1], packed[1].heads[adapters[1][2]])])
    assert len(engine.bank) == 2
    del packed[1]  # the residency tier dropped it and no request holds it any more
    gc.collect()
    engine.run([Row(TEXTS[0], packed[0], head)])
    assert len(engine.bank) == 1 and engine.bank.stats.released == 1


def test_small_lora_matmuls_run_on_one_thread_and_restore_the_setting(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    backbone_dir, adapters = world
    engine = _engine(backbone_dir)
    packed = _pack(engine, adapters)
    rows = _rows(packed, adapters, list(range(len(adapters))))
    before = torch.get_num_threads()
    seen: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n)))
    try:
        real(2)
        expected = engine.run(rows)
        assert torch.get_num_threads() == 2
        assert seen and seen[0] == 1 and seen[-1] == 2  # narrowed, then restored
    finally:
        real(before)
    for a, b in zip(expected, _engine(backbone_dir).run(rows), strict=True):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)


def test_automatic_threads_leave_a_core_to_the_server(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hub.engine import precision

    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(precision, "available_cpus", lambda: 8)
    try:
        assert precision.configure_threads(0) == 7
        assert precision.configure_threads(3) == 3
        monkeypatch.setattr(precision, "available_cpus", lambda: 1)
        assert precision.configure_threads(0) == 1
    finally:
        torch.set_num_threads(before)
