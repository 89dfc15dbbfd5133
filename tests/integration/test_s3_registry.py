"""The hub on real S3 semantics (SeaweedFS): serving, restarts, races, tampering."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from adapters_registry.registry import AdapterRegistry
from tests.helpers import artifact_from_dir
from tests.integration.conftest import SEQ_LABELS

pytestmark = [pytest.mark.integration, pytest.mark.s3]
SEQ = "generic.sequence_classification"
ADMIN = "s3-admin-key"


@pytest.fixture
def s3_settings(seaweedfs, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Credentials travel the standard AWS way (environment); endpoint and bucket via hub settings."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", seaweedfs.region)
    return {
        "store": f"s3://{seaweedfs.new_bucket('hub')}/prod",
        "s3_endpoint_url": seaweedfs.endpoint_url,
        "s3_addressing_style": "path",
        "auth": "on",
        "admin_key": ADMIN,
    }


def test_serve_push_predict_and_restart_loses_nothing(
    start_hub, packaged_runtime, packaged_adapters, s3_settings
) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(packaged_runtime, **s3_settings)
    with HubClient(f"127.0.0.1:{server.port}", api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme").api_key
        assert admin.server_info().store.startswith("s3://")
    with HubClient(f"127.0.0.1:{server.port}", api_key=key, retries=0) as acme:
        acme.push(packaged_adapters["seq"], "sent", task=SEQ, labels=list(SEQ_LABELS))
        acme.push(packaged_adapters["seq2"], "sent", task=SEQ, labels=list(SEQ_LABELS))
        acme.set_alias("sent", "1", "prod")
        before = acme.predict("sent@prod", ["markets rally"])[0]
    server.stop(grace=1)

    again, _ = start_hub(packaged_runtime, **s3_settings)  # a new process would see the same
    with HubClient(f"127.0.0.1:{again.port}", api_key=key, retries=0) as acme:
        listing = acme.list_adapters()
        assert [(a.name, [v.version for v in a.versions], dict(a.aliases)) for a in listing] == [
            ("sent", ["1", "2"], {"latest": "2", "prod": "1"})
        ]
        after = acme.predict("sent@prod", ["markets rally"])[0]
    assert [(x.label, x.score) for x in after.labels] == [(x.label, x.score) for x in before.labels]


def test_racing_publishers_never_clobber_each_other(
    seaweedfs, tiny_runtime, tiny_backbone_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_peft_adapter

    path = make_peft_adapter(tiny_backbone_dir, tmp_path / "a", task_type="SEQ_CLS", num_labels=2, rank=2, seed=4)
    artifact = artifact_from_dir(path, tiny_runtime.spec, SEQ, ("a", "b"))
    bucket = seaweedfs.new_bucket("race")
    registries = [AdapterRegistry(seaweedfs.open_store(bucket)) for _ in range(2)]  # two servers
    versions: list[int] = []
    lock = threading.Lock()

    def publish(registry: AdapterRegistry) -> None:
        for _ in range(2):
            version = registry.publish("acme", "raced", artifact).version
            with lock:
                versions.append(version)

    threads = [threading.Thread(target=publish, args=(registries[i % 2],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(versions) == list(range(1, 9))
    assert registries[0].resolve("acme", "raced").version == 8
    assert registries[1].versions("acme", "raced") == list(range(1, 9))


def test_a_tampered_object_is_never_served(
    start_hub, packaged_runtime, packaged_adapters, seaweedfs, s3_settings
) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(packaged_runtime, **{**s3_settings, "auth": "on"})
    with HubClient(f"127.0.0.1:{server.port}", api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme").api_key
    with HubClient(f"127.0.0.1:{server.port}", api_key=key, retries=0) as acme:
        stored = acme.push(packaged_adapters["seq"], "sent", task=SEQ, labels=list(SEQ_LABELS))
    digest = next(f.sha256 for f in stored.files if f.path == "adapter_model.safetensors")
    bucket, prefix = str(s3_settings["store"]).removeprefix("s3://").split("/", 1)
    store = seaweedfs.open_store(bucket, prefix)
    blob = f"tenants/acme/blobs/{digest}"
    data = bytearray(store.get(blob).data)
    data[-1] ^= 0x01
    store.put(blob, bytes(data))
    # cold: bytes come from S3
    with HubClient(f"127.0.0.1:{server.port}", api_key=key, retries=0) as acme, pytest.raises(grpc.RpcError) as caught:
        acme.predict("sent", ["x"])
    assert caught.value.code() == grpc.StatusCode.DATA_LOSS
    assert "does not match its sha256" in caught.value.details()
