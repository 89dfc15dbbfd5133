"""Real PEFT adapters trained-shape on the packaged MiniLM, shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_peft_adapter, packaged_model_dir

SEQ_LABELS = ("negative", "neutral", "positive")
TOKEN_LABELS = ("O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical")


@pytest.fixture(scope="session")
def packaged_adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("packaged-adapters")
    backbone = packaged_model_dir()
    return {
        "seq": make_peft_adapter(backbone, root / "seq", task_type="SEQ_CLS", num_labels=3, rank=8, seed=1),
        "seq2": make_peft_adapter(
            backbone,
            root / "seq2",
            task_type="SEQ_CLS",
            num_labels=3,
            rank=4,
            seed=2,
            target_modules=["query"],
        ),
        "token": make_peft_adapter(
            backbone,
            root / "token",
            task_type="TOKEN_CLS",
            num_labels=len(TOKEN_LABELS),
            rank=4,
            seed=3,
        ),
    }
