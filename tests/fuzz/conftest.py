"""A real hub for the fuzz tests: auth on, a victim tenant whose answers must not change, an
attacker tenant (whose key most fuzzed calls carry), and the one check every call must pass."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from adapter_hub_client import HubClient
from google.protobuf.descriptor import MethodDescriptor

from hub.config.settings import Settings
from hub.serving.app import build_authenticator, build_service
from hub.transport.server import HubServer
from tests.fuzz.messages import BAD_CODES, message_class
from tests.helpers import make_peft_adapter, packaged_model_dir

SEQ = "generic.sequence_classification"
LABELS = ["negative", "neutral", "positive"]
ADMIN = "fuzz-operator-key"
CALL_LIMIT_S = 5.0
VICTIM_TEXTS = ["good news", "the hinge snapped after a month"]


@dataclass
class FuzzHub:
    target: str
    channel: grpc.Channel
    keys: dict[str, str | None]
    victim: HubClient
    victim_before: Any = None
    adapters_dir: Path = Path()
    calls: int = 0
    slowest: float = 0.0
    codes: dict[str, int] = field(default_factory=dict)

    def victim_view(self) -> Any:
        """What the victim sees: its adapters and its answers (scores included)."""
        listing = [(a.name, [v.version for v in a.versions], a.aliases) for a in self.victim.list_adapters()]
        answers = [(p.version, [(x.label, round(x.score, 5)) for x in p.labels]) for p in self.victim.predict(
            "sentiment", VICTIM_TEXTS)]  # fmt: skip
        return listing, answers

    def invoke(self, method: MethodDescriptor, request: Any, metadata: Sequence[tuple[str, str]]) -> grpc.StatusCode:
        """Call ``method`` and check the property: no INTERNAL / UNKNOWN / DATA_LOSS (for the call,
        and for each request of a PredictStream), and no call over CALL_LIMIT_S."""
        path = f"/{method.containing_service.full_name}/{method.name}"
        kinds = {
            (False, False): self.channel.unary_unary,
            (True, False): self.channel.stream_unary,
            (False, True): self.channel.unary_stream,
            (True, True): self.channel.stream_stream,
        }
        stub = kinds[(method.client_streaming, method.server_streaming)](
            path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_class(method.output_type).FromString,
        )
        argument = iter(request) if method.client_streaming else request
        started = time.monotonic()
        try:
            answer = stub(argument, metadata=tuple(metadata), timeout=CALL_LIMIT_S * 4)
            if method.server_streaming:
                for item in answer:  # PredictStream's answers carry errors in-band; others are data
                    if "error" in item.DESCRIPTOR.fields_by_name and item.HasField("error"):
                        code = next(c for c in grpc.StatusCode if c.value[0] == item.error.code)
                        assert code not in BAD_CODES, f"{path}: a stream request got {code}: {item.error.message}"
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
            assert code not in BAD_CODES, f"{path} answered {code}: {error.details()}"
        elapsed = time.monotonic() - started
        assert elapsed < CALL_LIMIT_S, f"{path} took {elapsed:.1f} s"
        self.calls += 1
        self.slowest = max(self.slowest, elapsed)
        self.codes[code.name] = self.codes.get(code.name, 0) + 1
        return code

    def check_victim(self) -> None:
        assert HubClient(self.target, timeout=10).serving(), "the hub is no longer SERVING"
        assert self.victim_view() == self.victim_before, "the victim's adapters or answers changed"


@pytest.fixture(scope="session")
def fuzz_adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A real small PEFT adapter (rank 2 on the queries): what upload fuzzing mutates."""
    root = tmp_path_factory.mktemp("fuzz-adapters")
    backbone = packaged_model_dir()
    small = make_peft_adapter(
        backbone, root / "small", task_type="SEQ_CLS", num_labels=3, rank=2, seed=5, target_modules=["query"]
    )
    return {"small": small}


@pytest.fixture(scope="module")
def fuzz_hub(
    tmp_path_factory: pytest.TempPathFactory, packaged_runtime: Any, fuzz_adapters: dict[str, Path]
) -> Iterator[FuzzHub]:
    root = tmp_path_factory.mktemp("fuzz-hub")
    settings = Settings.from_env(
        environ={}, host="127.0.0.1", port=0, store=str(root / "store"), disk_cache_dir=str(root / "disk"),
        admin_key=ADMIN, auth="on",
    )  # fmt: skip
    service = build_service(settings)
    service.attach_runtime(packaged_runtime)
    server = HubServer(service, build_authenticator(settings, service))
    server.start(load_backbone=False)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, timeout=60, retries=0) as admin:
        victim_key, attacker_key = (admin.create_tenant(t).api_key for t in ("victim", "attacker"))
    victim = HubClient(target, api_key=victim_key, timeout=60, retries=0)
    with HubClient(target, api_key=attacker_key, timeout=60, retries=0) as attacker:
        for client in (victim, attacker):
            client.push(fuzz_adapters["small"], "sentiment", task=SEQ, labels=LABELS)
    keys = {
        "attacker": attacker_key, "admin": ADMIN, "none": None, "victim-shaped": victim_key[:-4] + "AAAA",
        "malformed": "ahk_../tenants/victi_x",
    }  # fmt: skip
    hub = FuzzHub(target, grpc.insecure_channel(target), keys, victim, adapters_dir=fuzz_adapters["small"])
    hub.victim_before = hub.victim_view()
    yield hub
    try:
        hub.check_victim()
    finally:
        print(f"\nfuzz: {hub.calls} calls, slowest {hub.slowest:.2f} s, codes {dict(sorted(hub.codes.items()))}")
        victim.close()
        hub.channel.close()
        server.stop(grace=1)
