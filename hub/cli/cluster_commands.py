"""`adapter-hub cluster up | status | down`: the hub on Ray Serve, many replicas (hub/cluster).

`up` writes the cluster's config to a state folder and starts the supervisor process
(hub/cluster/supervisor.py), which owns the local Ray head (or joins RAY_ADDRESS) and the Serve
application; it returns once the replicas answer through the gRPC proxy. `status` reads what the
supervisor publishes there each second; `scale` rewrites the replica count and asks the
supervisor to redeploy (replicas that go drain first); `down` asks the supervisor to stop and
waits. This module imports no Ray: the CLI works without the `ray` extra and says how to get it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hub.cli.serve import add_settings_flags, settings_from_args
from hub.cluster.routes import routes_for
from hub.config.settings import Settings, is_loopback
from hub.config.settings_schema import env_name, settings_fields
from hub.errors import DomainError

DEFAULT_STATE_DIR = Path.home() / ".adapter-hub" / "cluster"
STATUS_STALE_S = 10.0


def add_cluster_parsers(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="run the hub on Ray Serve: many replicas, calls routed by adapter")
    verbs = cluster.add_subparsers(dest="cluster_command", required=True)
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("ADAPTER_HUB_CLUSTER_DIR") or DEFAULT_STATE_DIR),
        help="where the cluster's state and log live (env ADAPTER_HUB_CLUSTER_DIR; default %(default)s)",
    )
    up = verbs.add_parser(
        "up",
        parents=[state],
        help="start the cluster (a local Ray head, or the one RAY_ADDRESS names)",
        description="Start N hub replicas behind Ray Serve's gRPC proxy, listening on --host:--port. "
        "Every `serve` option applies to each replica; the store must be one they all reach.",
    )
    _add_cluster_flags(up)
    add_settings_flags(up)
    up.set_defaults(handler=cmd_up)
    status = verbs.add_parser("status", parents=[state], help="the replicas and what each holds")
    status.add_argument("--json", action="store_true", help="print JSON on stdout only")
    status.set_defaults(handler=cmd_status)
    scale = verbs.add_parser("scale", parents=[state], help="change the number of replicas; those that go drain first")
    scale.add_argument("--replicas", type=int, required=True, help="hub replicas")
    scale.add_argument("--max-replicas", type=int, default=0, help="autoscale up to this many (default: off)")
    scale.add_argument("--wait", type=float, default=300.0, help="seconds to wait for the count (default %(default)s)")
    scale.set_defaults(handler=cmd_scale)
    down = verbs.add_parser("down", parents=[state], help="stop the cluster started by `cluster up`")
    down.add_argument("--wait", type=float, default=120.0, help="seconds to wait for it to stop (default %(default)s)")
    down.set_defaults(handler=cmd_down)


def _add_cluster_flags(up: argparse.ArgumentParser) -> None:
    group = up.add_argument_group("Cluster")
    group.add_argument("--replicas", type=int, default=2, help="hub replicas (default %(default)s)")
    group.add_argument(
        "--max-replicas", type=int, default=0, help="autoscale from --replicas up to this many (default: off)"
    )
    group.add_argument(
        "--target-ongoing", type=int, default=16, help="autoscaling: calls in flight per replica (default %(default)s)"
    )
    group.add_argument(
        "--models-per-replica",
        type=int,
        default=0,
        help="adapter names Serve routes to one replica before its LRU drops one (default: the device tier's "
        "budget / 1 MiB, so the tier's bytes decide what a replica keeps)",
    )
    group.add_argument(
        "--max-ongoing",
        type=int,
        default=1024,
        help="calls one replica takes at once: they wait in its fair queue, not in Serve's router (default "
        "%(default)s)",
    )
    group.add_argument(
        "--max-queued",
        type=int,
        default=256,
        help="calls waiting for a replica beyond that; more get RESOURCE_EXHAUSTED (default %(default)s)",
    )
    group.add_argument("--replica-cpus", type=float, default=1.0, help="CPUs Ray reserves per replica (default 1)")
    group.add_argument("--wait", type=float, default=600.0, help="seconds to wait for the replicas (default 600)")


def settings_environ(settings: Settings, secrets: bool = False) -> dict[str, str]:
    """The settings by their ADAPTER_HUB_* names, as each replica reads them: the secret ones
    (the admin key) only when ``secrets``, for the supervisor's own environment, which the
    replicas of a local cluster inherit; never in the state folder or Serve's stored config."""
    environ = {}
    for f, spec in settings_fields(Settings):
        if spec.secret != secrets:
            continue
        value = getattr(settings, f.name)
        environ[env_name(f.name)] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return environ


def _cluster_problems(settings: Settings, args: argparse.Namespace) -> list[str]:
    problems = []
    if settings.tls_cert:
        problems.append("Ray Serve's gRPC proxy has no TLS: terminate TLS in front of it (README, Scaling out)")
    if not settings.port:
        problems.append("give the proxy's port with --port (0 is not allowed for a cluster)")
    embedded = is_loopback(settings.host) and settings.store_uri.is_local
    if (settings.auth == "on" or (settings.auth == "auto" and not embedded)) and not settings.admin_key:
        problems.append("auth is on (not loopback with a local store): set ADAPTER_HUB_ADMIN_KEY")
    if args.replicas < 1 or (args.max_replicas and args.max_replicas < args.replicas):
        problems.append("--replicas must be 1 or more, and --max-replicas at least --replicas")
    return problems


def _config(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "replicas": args.replicas,
        "port": settings.port,
        "host": settings.host,
        "environ": settings_environ(settings),
        "models_per_replica": args.models_per_replica or routes_for(settings.device_cache_bytes),
        "max_ongoing_requests": args.max_ongoing,
        "max_queued_requests": args.max_queued,
        "replica_cpus": args.replica_cpus,
        "max_replicas": args.max_replicas,
        "target_ongoing_requests": args.target_ongoing,
    }


def read_state(state_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state_dir / "state.json").read_text()))
    except (OSError, ValueError):
        return {}


def supervisor_alive(state: dict[str, Any]) -> bool:
    pid = state.get("pid")
    return isinstance(pid, int) and state.get("phase") not in ("stopped", "failed") and _pid_alive(pid)


def cmd_up(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("ray") is None:
        print("error: the cluster runs on Ray Serve: pip install 'adapter-hub[ray]'", file=sys.stderr)
        return 2
    try:
        settings = settings_from_args(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    problems = _cluster_problems(settings, args)
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    state_dir: Path = args.state_dir
    running = read_state(state_dir)
    if supervisor_alive(running):
        print(f"error: a cluster runs from {state_dir} (pid {running['pid']}): `cluster down` first", file=sys.stderr)
        return 2
    state_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("state.json", "status.json", "prometheus.json"):
        (state_dir / stale).unlink(missing_ok=True)
    (state_dir / "config.json").write_text(json.dumps(_config(settings, args), indent=1))
    return _start(state_dir, args.wait, settings_environ(settings, secrets=True))


def _start(state_dir: Path, wait: float, secrets: dict[str, str]) -> int:
    log_path = state_dir / "cluster.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            # -u: the replicas' lines Ray prints on the supervisor's stdout reach cluster.log as
            # they come, not in 8 KiB blocks
            [sys.executable, "-u", "-m", "hub.cluster.supervisor", str(state_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command; `cluster down` stops it
            # RAY_DEDUP_LOGS=0: every replica's request log line reaches cluster.log as written (Ray
            # folds lines it finds alike into "[repeated Nx]"); read when Ray is imported
            env={"RAY_DEDUP_LOGS": "0", **os.environ, **{k: v for k, v in secrets.items() if v}},
        )
    end = time.monotonic() + wait
    while time.monotonic() < end:
        state = read_state(state_dir)
        if state.get("phase") == "running":
            replicas = state["config"]["replicas"]
            print(f"cluster up: {replicas} replica(s), gRPC on {state['target']} (log {log_path})", flush=True)
            return 0
        if state.get("phase") == "failed" or process.poll() is not None:
            print(f"error: the cluster did not start: {state.get('error', 'see the log')}", file=sys.stderr)
            print(_tail(log_path), file=sys.stderr)
            return 1
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    print(f"error: the cluster was not up in {wait:.0f} s; stopping it (log {log_path})", file=sys.stderr)
    return 1


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def cmd_status(args: argparse.Namespace) -> int:
    state = read_state(args.state_dir)
    if not supervisor_alive(state) or state.get("phase") != "running":
        print(f"error: no cluster is running from {args.state_dir}", file=sys.stderr)
        return 1
    try:
        published = json.loads((args.state_dir / "status.json").read_text())
    except (OSError, ValueError):
        published = {"updated": 0, "replicas": []}
    age = time.time() - float(published.get("updated", 0))
    report = {
        "target": state["target"],
        "replicas": published["replicas"],
        "updated": published.get("updated", 0),  # when the supervisor last read the reports (epoch s)
        "age_s": round(age, 1),
        "logs": state.get("logs", ""),  # Ray's log folder on this node (each replica's worker-*.err)
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    stale = " (stale)" if age > STATUS_STALE_S else ""
    print(f"cluster on {state['target']}: {len(report['replicas'])} replica(s){stale}")
    for r in report["replicas"]:
        resident = ", ".join(r["resident"]) or "-"
        ready = "ready" if r.get("ready", True) else "draining"
        print(
            f"  {r['id']}  pid {r['pid']}  {ready}  metrics http://{r.get('metrics', '-')}/metrics  "
            f"loads {r['loads']}  queued {r['queued']}  resident {resident}"
        )
    print(f"  Prometheus targets (file_sd_configs): {args.state_dir / 'prometheus.json'}")
    if state.get("logs"):
        print(f"  replica logs: {state['logs']}/worker-*.err (and {args.state_dir / 'cluster.log'})")
    return 0


def cmd_scale(args: argparse.Namespace) -> int:
    state = read_state(args.state_dir)
    if not supervisor_alive(state) or state.get("phase") != "running":
        print(f"error: no cluster is running from {args.state_dir}", file=sys.stderr)
        return 1
    if args.replicas < 1 or (args.max_replicas and args.max_replicas < args.replicas):
        print("error: --replicas must be 1 or more, and --max-replicas at least --replicas", file=sys.stderr)
        return 2
    path = args.state_dir / "config.json"
    config = json.loads(path.read_text()) | {"replicas": args.replicas, "max_replicas": args.max_replicas}
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(config, indent=1))
    partial.replace(path)
    os.kill(state["pid"], signal.SIGHUP)  # the supervisor re-reads config.json and redeploys
    end = time.monotonic() + args.wait
    while time.monotonic() < end:
        deployed = read_state(args.state_dir).get("config", {}).get("replicas")
        if deployed == args.replicas and _settled(args.state_dir, args.replicas, autoscaled=bool(args.max_replicas)):
            print(f"cluster scaled to {args.replicas} replica(s)")
            return 0
        time.sleep(0.5)
    print(f"error: the cluster did not reach {args.replicas} replica(s) in {args.wait:.0f} s", file=sys.stderr)
    return 1


def _settled(state_dir: Path, replicas: int, autoscaled: bool) -> bool:
    """Whether the directory lists ``replicas`` replicas (at least, when autoscaled), all ready:
    a replica that drains is listed, not ready, until it has stopped."""
    try:
        listed = json.loads((state_dir / "status.json").read_text()).get("replicas", [])
    except (OSError, ValueError):
        return False
    count_ok = len(listed) >= replicas if autoscaled else len(listed) == replicas
    return count_ok and all(r.get("ready", True) for r in listed)


def cmd_down(args: argparse.Namespace) -> int:
    state = read_state(args.state_dir)
    if not supervisor_alive(state):
        print(f"no cluster is running from {args.state_dir}", file=sys.stderr)
        return 0
    os.kill(state["pid"], signal.SIGTERM)
    end = time.monotonic() + args.wait
    while time.monotonic() < end:
        if not supervisor_alive(read_state(args.state_dir)) or not _pid_alive(state["pid"]):
            print("cluster stopped")
            return 0
        time.sleep(0.5)
    print(f"error: the cluster did not stop in {args.wait:.0f} s (pid {state['pid']})", file=sys.stderr)
    return 1


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
