"""kill -9 of a real `adapter-hub serve` at named steps of push, delete and alias (the
ADAPTER_HUB_TEST_CRASH_AT hook: the process SIGKILLs itself there) and at random moments under
traffic, on the local store and on SeaweedFS; after each restart the store's invariants hold
(tests/registry/invariants.py) and every acknowledged version is served.

CI crashes at a few steps per operation; ADAPTER_HUB_CRASH_SWEEP=1 crashes at every step.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from adapter_hub_client import HubClient, HubError

from adapters_registry.registry import AdapterRegistry
from adapters_registry.storage.base import ObjectStore
from adapters_registry.storage.local import LocalStore
from tests.fixtures.seaweedfs import SeaweedFS
from tests.integration.test_cli import CLI, free_port, wait_serving
from tests.registry.invariants import check_store
from tests.residency.conftest import adapter_files, publish, write_adapter_dir

pytestmark = pytest.mark.integration

ADMIN = "crash-admin-key-0123456789abcdef"
T = "acme"
CI_STEPS = ["push.claimed", "delete.tombstoned", "delete.records_removed", "alias.moved"]
ALL_STEPS = [
    "push.blobs_written",
    "push.intent_written",
    "push.claimed",
    "push.latest_moved",
    "delete.intent_written",
    "delete.tombstoned",
    "delete.records_removed",
    "delete.aliases_moved",
    "alias.moved",
]
SWEEP = os.environ.get("ADAPTER_HUB_CRASH_SWEEP") == "1"
STEPS = ALL_STEPS if SWEEP else CI_STEPS
RANDOM_KILLS = 5 if SWEEP else 1


@dataclass
class Ledger:
    """What the client was told: acknowledged versions (with their files) and deletions."""

    acked: dict[tuple[str, int], dict[str, bytes]] = field(default_factory=dict)
    deleted: set[tuple[str, int]] = field(default_factory=set)
    pending: tuple[str, Any] | None = None  # the operation under way when the process died
    through_hub: int = 0  # operations the hub acknowledged

    def settle(self, registry: AdapterRegistry) -> None:
        """The interrupted operation happened whole or not at all: learn which."""
        if self.pending is None:
            return
        kind, arg = self.pending
        self.pending = None
        if kind == "push":
            name, files, before = arg
            for version in registry.versions(T, name):
                if version > before:  # stored, though never acknowledged
                    self.acked[(name, version)] = files
                    assert registry.resolve(T, name).version == version, "latest not moved to the stored push"
        elif kind == "delete":
            targets = arg
            gone = {t for t in targets if t[1] not in registry.versions(T, t[0])}
            assert gone in (set(), set(targets)), f"a delete half done: {gone} of {targets}"
            self.deleted |= gone


class Hub:
    def __init__(self, root: Path, env: dict[str, str], backbone: Path) -> None:
        self.root, self.env, self.backbone = root, env, backbone
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self, crash_at: str = "") -> HubClient:
        self.port = free_port()
        env = {**os.environ, **self.env, "ADAPTER_HUB_TEST_CRASH_AT": crash_at}
        log = open(self.root / "hub.log", "a")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--backbone", str(self.backbone)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_serving(f"127.0.0.1:{self.port}", self.process)
        return HubClient(f"127.0.0.1:{self.port}", api_key=ADMIN, timeout=30, retries=0)

    def wait_killed(self) -> None:
        assert self.process is not None
        assert self.process.wait(timeout=60) == -signal.SIGKILL, "the hub was not killed"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def seed(registry: AdapterRegistry, ledger: Ledger, spec: Any, counter: list[int]) -> None:
    """At least two versions of `a` (with `prod`) and one of `b`, stored as acknowledged."""
    for name, wanted in (("a", 2), ("b", 1)):
        while len([k for k in ledger.acked if k[0] == name and k not in ledger.deleted]) < wanted:
            counter[0] += 1
            record = publish(registry, spec, T, name, seed=counter[0])
            ledger.acked[(name, record.version)] = adapter_files(spec, counter[0])
    live = registry.versions(T, "a")
    registry.set_alias(T, "a", "prod", str(live[0]))


def operation(step: str) -> str:
    if step.startswith("push") or step.startswith("store"):
        return "push"
    if step == "delete.tombstoned":
        return "delete-whole"  # the "version both live and deleted"
    return "delete-version" if step.startswith("delete") else "alias"


def run(op: str, client: HubClient, registry: AdapterRegistry, ledger: Ledger, spec: Any, tmp: Path, n: int) -> None:
    """One operation through the hub; the ledger learns what was acknowledged."""
    if op == "push":
        files = adapter_files(spec, 1000 + n)
        before = max(registry.versions(T, "a"), default=0)
        ledger.pending = ("push", ("a", files, before))
        info = client.push(write_adapter_dir(tmp / f"push{n}", spec, 1000 + n), "a")
        ledger.acked[("a", int(info.version))] = files
        ledger.through_hub += 1
    elif op.startswith("delete"):
        name = "b" if op == "delete-whole" else "a"
        versions = registry.versions(T, name) if name == "b" else registry.versions(T, name)[-1:]
        ledger.pending = ("delete", [(name, v) for v in versions])
        client.delete_adapter(name if name == "b" else f"a@{versions[0]}")
        ledger.deleted |= {(name, v) for v in versions}
        ledger.through_hub += 1
    else:
        ledger.pending = ("alias", None)
        client.set_alias("a", str(registry.versions(T, "a")[-1]), "prod")
    ledger.pending = None


def check(client: HubClient, registry: AdapterRegistry, ledger: Ledger) -> None:
    ledger.settle(registry)
    check_store(registry, T, ledger.acked, ledger.deleted)
    for name, version in sorted(set(ledger.acked) - ledger.deleted):
        assert client.predict(f"{name}@{version}", ["a text"])[0].served_by == f"{name}@{version}"
    for name in {name for name, _ in ledger.acked}:
        if registry.versions(T, name):
            client.predict(name, ["latest resolves"])


@pytest.fixture(params=["local", "s3"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], ObjectStore]]:
    env = {"ADAPTER_HUB_AUTH": "on", "ADAPTER_HUB_ADMIN_KEY": ADMIN, "ADAPTER_HUB_DISK_CACHE_DIR": "off"}
    env |= {"ADAPTER_HUB_DEVICE": "cpu", "ADAPTER_HUB_GC_INTERVAL_S": "0"}
    if request.param == "local":
        yield {**env, "ADAPTER_HUB_STORE": str(tmp_path / "store")}, LocalStore(tmp_path / "store")
        return
    weed: SeaweedFS = request.getfixturevalue("seaweedfs")
    bucket = weed.new_bucket("crash")
    env |= {"ADAPTER_HUB_STORE": f"s3://{bucket}/hub", "ADAPTER_HUB_S3_ENDPOINT_URL": weed.endpoint_url}
    env |= {"ADAPTER_HUB_S3_ADDRESSING_STYLE": "path", "AWS_ACCESS_KEY_ID": weed.access_key}
    env |= {"AWS_SECRET_ACCESS_KEY": weed.secret_key, "AWS_DEFAULT_REGION": weed.region}
    store = weed.open_store(bucket, prefix="hub")
    try:
        yield env, store
    finally:
        store.close()


def tenant_key(hub: Hub, admin: HubClient) -> str:
    with admin:
        return str(admin.create_tenant(T).api_key)


def connect(hub: Hub, key: str) -> HubClient:
    return HubClient(f"127.0.0.1:{hub.port}", api_key=key, timeout=30, retries=0)


def test_kill_at_named_steps_then_restart_keeps_every_promise(
    store_env: tuple[dict[str, str], ObjectStore], tiny_backbone_dir: Path, tiny_runtime: Any, tmp_path: Path
) -> None:
    env, store = store_env
    registry, ledger, spec, counter = AdapterRegistry(store), Ledger(), tiny_runtime.spec, [0]
    hub = Hub(tmp_path, env, tiny_backbone_dir)
    steps = STEPS + (["store.temp_written"] if isinstance(store, LocalStore) and STEPS is ALL_STEPS else [])
    try:
        key = tenant_key(hub, hub.start(crash_at=steps[0]))
        for i, step in enumerate(steps):
            seed(registry, ledger, spec, counter)
            with connect(hub, key) as client, pytest.raises(HubError):  # the process dies under the call
                run(operation(step), client, registry, ledger, spec, tmp_path, i)
            hub.wait_killed()
            hub.start(steps[i + 1] if i + 1 < len(steps) else "").close()  # recovery runs at start-up
            with connect(hub, key) as client:
                check(client, registry, ledger)
    finally:
        hub.stop()


def test_random_kills_under_traffic_then_restart_keeps_every_promise(
    store_env: tuple[dict[str, str], ObjectStore], tiny_backbone_dir: Path, tiny_runtime: Any, tmp_path: Path
) -> None:
    env, store = store_env
    registry, ledger, spec, counter = AdapterRegistry(store), Ledger(), tiny_runtime.spec, [0]
    hub = Hub(tmp_path, env, tiny_backbone_dir)
    rng = random.Random(24)
    try:
        key = tenant_key(hub, hub.start())
        client = connect(hub, key)
        for round_ in range(RANDOM_KILLS):
            seed(registry, ledger, spec, counter)
            stop = threading.Event()

            def traffic(c: HubClient = client, r: int = round_, stop: threading.Event = stop) -> None:
                for n in range(1000):
                    if stop.is_set():
                        return
                    op = ("push", "alias", "push", "delete-version")[n % 4]
                    if op == "delete-version" and len(registry.versions(T, "a")) < 2:
                        op = "push"
                    try:
                        run(op, c, registry, ledger, spec, tmp_path, 100 * (r + 1) + n)
                    except HubError:
                        return  # the hub died under this call: its outcome is settled after restart

            worker = threading.Thread(target=traffic)
            worker.start()
            time.sleep(rng.uniform(0.3, 1.5))
            hub.kill()
            stop.set()
            worker.join(timeout=60)
            client.close()
            hub.start().close()
            client = connect(hub, key)
            check(client, registry, ledger)
        client.close()
        assert ledger.through_hub > 0  # the kills came under traffic
    finally:
        hub.stop()
