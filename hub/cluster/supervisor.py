"""The process that owns a cluster started by `adapter-hub cluster up`.

It starts a local Ray head in its own process (or joins ``RAY_ADDRESS``), starts Serve with the
hub's gRPC services on the proxy, deploys the application and waits for its replicas; then it
writes ``state.json`` and, every second, ``status.json`` (the directory's replica reports) and
``prometheus.json`` (the replicas' metrics ports as a Prometheus ``file_sd_configs`` target list,
labelled by replica) in the state folder. On SIGHUP (`cluster scale`) it re-reads config.json and
redeploys: Serve adds replicas, or drains and stops some. On SIGTERM (`cluster down`) it deletes
the application and, if it started the head, stops Serve and Ray: exactly what it started, so
stopping a cluster never touches another Ray on the machine.

Run as ``python -m hub.cluster.supervisor STATE_DIR``; the config is STATE_DIR/config.json.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc
import ray
from ray import serve
from ray.serve._private.common import DeploymentID
from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE
from ray.serve.generated.serve_pb2 import ListApplicationsRequest  # type: ignore[attr-defined]
from ray.serve.generated.serve_pb2_grpc import RayServeAPIServiceStub

from hub.cluster.app import DEPLOYMENT, ClusterConfig, build_app
from hub.cluster.directory import DIRECTORY_NAME, REPORT_EVERY_S, directory
from hub.cluster.proxy import HOST_VARIABLE
from hub.config.settings import is_loopback

log = logging.getLogger("hub.cluster")
READY_TIMEOUT_S = 600.0
OBJECT_STORE_BYTES = 256 << 20  # calls and answers pass through it: small messages


def write_json(path: Path, value: Any) -> None:
    """Whole or not at all: readers never see half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(value, indent=1))
    partial.replace(path)


def read_config(state_dir: Path) -> ClusterConfig:
    return ClusterConfig(**json.loads((state_dir / "config.json").read_text()))


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_ray(config: ClusterConfig) -> bool:
    """Join RAY_ADDRESS, or start a local head owned by this process. True if started here."""
    runtime_env = {
        "worker_process_setup_hook": "hub.cluster.proxy.adjust_serve_proxy",
        "env_vars": {HOST_VARIABLE: config.host},
    }
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, namespace=config.application, runtime_env=runtime_env)
        return False
    ray.init(
        num_cpus=max(1, math.ceil(max(config.replicas, config.max_replicas) * config.replica_cpus)),
        include_dashboard=False,
        object_store_memory=OBJECT_STORE_BYTES,
        namespace=config.application,
        runtime_env=runtime_env,
        _node_ip_address="127.0.0.1" if is_loopback(config.host) else None,
    )
    return True


def deploy(config: ClusterConfig, stop: threading.Event) -> None:
    serve.start(
        http_options={"host": config.host, "port": free_port(config.host)},
        grpc_options=config.grpc_options(),
    )
    # a route prefix: without one the proxies (gRPC too) do not route to the application
    serve.run(
        build_app(config),
        name=config.application,
        route_prefix=f"/{config.application}",
        blocking=False,
        external_scaler_enabled=not config.autoscaled,  # `cluster scale` sets the count in place
    )
    end = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < end and not stop.is_set():
        status = serve.status().applications.get(config.application)
        if status is not None and status.status == "RUNNING" and proxy_routes(config):
            return
        if status is not None and status.status == "DEPLOY_FAILED":
            raise RuntimeError(f"the application failed to deploy: {status.message}")
        stop.wait(0.5)
    if stop.is_set():
        raise InterruptedError("stopped while starting")
    raise TimeoutError(f"the replicas were not ready in {READY_TIMEOUT_S:.0f} s")


def proxy_routes(config: ClusterConfig) -> bool:
    """Whether the gRPC proxy routes to the application yet (it learns of it after RUNNING)."""
    host = f"[{config.host}]" if ":" in config.host else config.host
    with grpc.insecure_channel(f"{host}:{config.port}") as channel:
        try:
            listed = RayServeAPIServiceStub(channel).ListApplications(ListApplicationsRequest(), timeout=5)
        except grpc.RpcError:
            return False
    return config.application in listed.application_names


def publish_status(state_dir: Path, config: ClusterConfig, stop: threading.Event) -> None:
    """Every second: the replicas' reports to status.json, for `cluster status`, and their
    metrics ports to prometheus.json, for Prometheus."""
    book = directory(config.application)
    while not stop.wait(REPORT_EVERY_S):
        try:
            replicas = ray.get(book.replicas.remote(), timeout=10)
        except Exception:
            log.warning("reading the cluster directory failed", exc_info=True)
            continue
        write_json(state_dir / "status.json", {"updated": time.time(), "replicas": replicas})
        write_json(state_dir / PROMETHEUS_TARGETS, prometheus_targets(replicas, config.application))


PROMETHEUS_TARGETS = "prometheus.json"


def prometheus_targets(replicas: list[dict[str, Any]], application: str) -> list[dict[str, Any]]:
    """A ``file_sd_configs`` target list: one target per replica's metrics port, labelled by
    ``replica`` (Serve's replica id) and ``node``; the dashboard's queries sum over them."""
    return [
        {"targets": [r["metrics"]], "labels": {"replica": r["id"], "node": r["node"], "cluster": application}}
        for r in replicas
        if r.get("metrics")
    ]


def rescale(state_dir: Path, config: ClusterConfig) -> ClusterConfig:
    """config.json's replica counts (what `cluster scale` wrote). A fixed count, before and after:
    set in place through Serve's external scaling call, so the replicas that stay keep running
    (with their resident adapters) and those that go are stopped gracefully (each drains:
    readiness false, its calls answered). With autoscaling on either side: a redeploy, in which
    Serve replaces every replica, one after another."""
    wanted = read_config(state_dir)
    changed = ClusterConfig(**(asdict(config) | {"replicas": wanted.replicas, "max_replicas": wanted.max_replicas}))
    if config.autoscaled or changed.autoscaled:
        serve.run(build_app(changed), name=config.application, route_prefix=f"/{config.application}", blocking=False)
    else:
        controller = ray.get_actor(SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE)
        deployment = DeploymentID(name=DEPLOYMENT, app_name=config.application)
        ray.get(controller.update_deployment_replicas.remote(deployment, changed.replicas), timeout=60)
    log.info("rescaled to %d replica(s)", changed.replicas)
    return changed


def logs_dir() -> str:
    """Where this node's Ray writes its processes' logs: each replica's stderr (its request log
    lines among them) is a worker-*.err file there; Ray also forwards those lines to this
    process's stdout (cluster.log), in batches."""
    node = getattr(ray._private.worker, "_global_node", None)
    return str(node.get_logs_dir_path()) if node is not None else ""


def teardown(config: ClusterConfig, owns_ray: bool) -> None:
    try:
        serve.delete(config.application)
    except Exception:
        log.warning("deleting the application failed", exc_info=True)
    with contextlib.suppress(ValueError):  # no replica ever made it
        ray.kill(ray.get_actor(DIRECTORY_NAME, namespace=config.application))
    if owns_ray:
        serve.shutdown()
        ray.shutdown()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = Path(argv[0])
    config = read_config(state_dir)
    stop, scale = threading.Event(), threading.Event()
    state: dict[str, Any] = {"pid": os.getpid(), "phase": "starting", "config": asdict(config)}
    write_json(state_dir / "state.json", state)
    owns_ray = False
    try:
        owns_ray = start_ray(config)
        for sig in (signal.SIGTERM, signal.SIGINT):  # after ray.init, which sets its own handlers
            signal.signal(sig, lambda *_: stop.set())
        signal.signal(signal.SIGHUP, lambda *_: scale.set())
        state |= {"ray_address": ray.get_runtime_context().gcs_address, "owns_ray": owns_ray, "logs": logs_dir()}
        deploy(config, stop)
    except Exception as exc:
        log.exception("the cluster did not start")
        write_json(state_dir / "state.json", state | {"phase": "failed", "error": str(exc)})
        if ray.is_initialized():
            teardown(config, owns_ray)
        return 1
    state |= {"phase": "running", "target": f"{config.host}:{config.port}"}
    write_json(state_dir / "state.json", state)
    log.info("cluster running: %d replica(s), gRPC on %s:%d", config.replicas, config.host, config.port)
    publisher = threading.Thread(target=publish_status, args=(state_dir, config, stop), daemon=True)
    publisher.start()
    while not stop.wait(0.5):
        if scale.is_set():
            scale.clear()
            try:
                config = rescale(state_dir, config)
            except Exception:
                log.exception("rescaling failed; the cluster runs as it was")
            state["config"] = asdict(config)
            write_json(state_dir / "state.json", state)
    log.info("stopping the cluster")
    teardown(config, owns_ray)
    write_json(state_dir / PROMETHEUS_TARGETS, [])  # nothing left to scrape
    write_json(state_dir / "state.json", state | {"phase": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
