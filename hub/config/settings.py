"""Server settings: ONE typed, frozen table. Defaults < environment (ADAPTER_HUB_<FIELD>) <
flags of `adapter-hub serve` (or keyword overrides in code).

Adding a setting is one field entry below, in its group: its default, its help text and what
it accepts (``choices``, ``minimum``/``maximum`` or a ``check``). Everything else follows from
that entry: the environment variable ADAPTER_HUB_<FIELD>, the serve flag --<field-name> (help
naming the variable and the default), parsing, the start-up check (every problem at once, each
naming the variable and the flag) and the README row, which tests/unit/test_settings.py
requires (``markdown_tables()`` renders the rows). Code that needs other values makes a new
instance with ``dataclasses.replace`` (the checks run again).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters_registry import names
from adapters_registry.storage.uri import StoreURI, parse_store_uri
from hub.config.settings_schema import (
    Group,
    SettingsError,
    collect_problems,
    fold_case,
    from_sources,
    markdown_tables,
)
from hub.errors import InvalidArgument

__all__ = [
    "DEFAULT_BACKBONE",
    "DEFAULT_PORT",
    "GROUPS",
    "Settings",
    "SettingsError",
    "default_store",
    "is_loopback",
]

DEFAULT_BACKBONE = "packaged:all-minilm-l6-v2"
DEFAULT_PORT = 50051

SERVER = Group("server", "Server")
ENGINE = Group("engine", "Backbone and engine")
BATCHING = Group("batching", "Batching")
FAIRNESS = Group("fairness", "Fair serving under load")
LIMITS = Group("limits", "Request limits")
RESIDENCY = Group("residency", "Residency (adapter caches)")
STORE = Group("store", "Object store and S3")
PLUGINS = Group("plugins", "Plugins")
AUTH = Group("auth", "Auth and tenants")
TLS = Group("tls", "TLS and connections")
OBSERVE = Group("observe", "Metrics and logs")
GROUPS = (SERVER, ENGINE, BATCHING, FAIRNESS, LIMITS, RESIDENCY, STORE, PLUGINS, AUTH, TLS, OBSERVE)

_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


def default_store() -> str:
    return str(Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "adapter-hub/store")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _readable_file(value: str) -> str | None:
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        return f"is not a file: {value}"
    if not os.access(path, os.R_OK):
        return f"cannot be read: {value}"
    return None


def _not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _device(value: str) -> str | None:
    return None if _DEVICE.match(value) else f"must be auto, cpu, cuda or cuda:N, got {value!r}"


def _store(value: str) -> str | None:
    try:
        parse_store_uri(value)
    except InvalidArgument as exc:
        return f"is not a valid store: {exc.message}"
    return None


def _entries(value: str) -> str | None:
    """Each entry's tenant, name and version by the rules every RPC applies (adapters_registry/names.py)."""
    bad = [e for e in (e.strip() for e in value.split(",")) if e and not _valid_entry(e)]
    return f"expects comma-separated TENANT/NAME[@VERSION], got {', '.join(map(repr, bad))}" if bad else None


def _valid_entry(entry: str) -> bool:
    tenant, slash, rest = entry.partition("/")
    name, _, ref = rest.partition("@")
    try:
        names.check("tenant", tenant)
        names.check("adapter name", name)
        names.check_version_ref(ref)
    except InvalidArgument:
        return False
    return bool(slash)


def _endpoint(value: str) -> str | None:
    if not value or re.match(r"^https?://[^/\s@]+(/\S*)?$", value):
        return None
    return "must be an http:// or https:// URL without credentials"


WAIT_S_HELP = "seconds a unary call over its tenant's queue share or rates waits for room before RESOURCE_EXHAUSTED "
WAIT_S_HELP += "(within its deadline; 0: refused at once; streams wait up to their deadline)"
WAIT_MB_HELP = "MiB of request text the calls waiting for room may hold (a tenant: half); past it refused at once"


@dataclass(frozen=True)
class Settings:
    """Everything `adapter-hub serve` can be told (see the module docstring to add one)."""

    # --- server
    host: str = SERVER(
        "127.0.0.1",
        "address to listen on (any other than loopback needs auth, and TLS or --insecure)",
        check=_not_empty,
    )
    port: int = SERVER(DEFAULT_PORT, "gRPC port (0: any free port)", minimum=0, maximum=65535)
    # The front end is asyncio (hub/transport): a waiting call holds no thread. These threads
    # run only the blocking steps (text preparation, store reads and writes, admin), each tenant
    # at most half of them, so one tenant's slow work cannot take them all.
    max_workers: int = SERVER(
        16, "threads for blocking steps of calls (text preparation, store I/O); a waiting call holds none", minimum=1
    )
    max_open_calls: int = SERVER(
        4096, "open calls in total (unary and streams); beyond it RESOURCE_EXHAUSTED with a hint", minimum=1
    )
    tenant_max_open_calls: int = SERVER(
        0, "cap on one tenant's open calls; 0: its weighted share of max-open-calls (at least 8)", minimum=0
    )
    max_open_streams: int = SERVER(1024, "open streaming calls (PredictStream, uploads) in total", minimum=1)
    tenant_max_open_streams: int = SERVER(
        0, "cap on one tenant's open streams; 0: its weighted share of max-open-streams (at least 4)", minimum=0
    )
    stream_idle_timeout_s: float = SERVER(
        60.0, "a PredictStream with nothing in flight that sends nothing for this long is ended", minimum=0.01
    )
    upload_stall_timeout_s: float = SERVER(
        30.0, "an upload that sends no chunk for this long is ended and discarded", minimum=0.01
    )
    shutdown_grace_s: float = SERVER(10.0, "seconds to drain in-flight calls at shutdown", minimum=0)
    # --- backbone and engine
    backbone: str = ENGINE(
        DEFAULT_BACKBONE, "'packaged:all-minilm-l6-v2' or a local HF model directory", check=_not_empty
    )
    device: str = ENGINE("auto", "auto (CUDA if available), cpu, cuda or cuda:N", check=_device, fold_case=True)
    dtype: str = ENGINE(
        "auto",
        "backbone dtype; auto: bfloat16 on a GPU that has it and on a CPU with native bfloat16 "
        "(AVX512-BF16 or AMX), else float32 (float32 with quantize int8)",
        choices=("auto", "float32", "float16", "bfloat16"),
    )
    quantize: str = ENGINE(
        "none", "int8: dynamic int8 frozen backbone Linears (CPU, float32 only)", choices=("none", "int8")
    )
    torch_threads: int = ENGINE(
        0, "torch intra-op threads; 0: one per core but one (at least 1; OMP_NUM_THREADS wins)", minimum=0
    )
    # --- batching
    max_batch_size: int = BATCHING(32, "rows per engine forward, gathered across requests and tenants", minimum=1)
    max_batch_wait_ms: float = BATCHING(2.0, "ms the oldest queued row may wait for its batch to fill", minimum=0)
    # --- fair serving (hub/scheduling/fair.py, admission.py; BENCHMARKS.md "Fairness under overload")
    scheduler: str = FAIRNESS(
        "fair",
        "fair: batches filled across tenants by weighted input tokens, with deadlines and bounded queues; "
        "fifo: first come first served, unbounded (the old batcher)",
        choices=("fair", "fifo"),
    )
    # 2 s: on 2 shared CPU cores a full batch (32 texts of 16-64 tokens) took 0.6-1.8 s, so one
    # to three batches wait at most (BENCHMARKS.md, "Fairness under overload"); a caller with a
    # shorter deadline is told at once when it cannot fit.
    queue_max_s: float = FAIRNESS(
        2.0, "queued work in total, in seconds at the measured engine speed (sets the token bound)", minimum=0.01
    )
    queue_max_tokens: int = FAIRNESS(
        0,
        "input tokens queued in total; 0: queue-max-s of work, at least one full batch of 64-token rows",
        minimum=0,
    )
    queue_max_requests: int = FAIRNESS(
        0, "requests queued in total; 0: 1024 (a queued call is a coroutine: memory, not threads, bounds it)", minimum=0
    )
    # Refused at once, clients that resend at once sent ~1,500 refused calls/s on 2 cores and
    # starved the engine (BENCHMARKS.md, "Waiting rooms"); a waiting call costs no CPU (rooms.py).
    queue_wait_s: float = FAIRNESS(10.0, WAIT_S_HELP, minimum=0)
    queue_wait_max_mb: int = FAIRNESS(256, WAIT_MB_HELP, minimum=1)
    tenant_queue_max_tokens: int = FAIRNESS(
        0, "cap on one tenant's queued input tokens; 0: none but its weighted share of the total", minimum=0
    )
    tenant_queue_max_requests: int = FAIRNESS(
        0, "cap on one tenant's queued requests; 0: none but its weighted share of the total", minimum=0
    )
    # --- request limits
    max_texts_per_request: int = LIMITS(256, "texts in one request", minimum=1)
    max_text_chars: int = LIMITS(20_000, "characters per text", minimum=1)
    max_tokens_per_text: int = LIMITS(512, "tokens per text (the backbone's positions)", minimum=1)
    max_fanout_targets: int = LIMITS(32, "adapters in one FanOut call", minimum=1)
    max_upload_bytes: int = LIMITS(64 << 20, "size of one adapter upload", minimum=1, unit="bytes")
    max_adapter_rank: int = LIMITS(64, "highest LoRA rank accepted", minimum=1)
    # --- residency: byte budgets per tier, least recently used evicted, pins kept
    device_cache_bytes: int = RESIDENCY(
        2 << 30,
        "device tier budget: packed adapters the engine consumes; also bounds the engine's LoRA slots",
        minimum=1,
        unit="bytes",
    )
    host_cache_bytes: int = RESIDENCY(
        2 << 30, "host tier budget: verified adapter files in memory", minimum=1, unit="bytes"
    )
    disk_cache_dir: str = RESIDENCY(
        "",
        "disk tier directory; empty: $XDG_CACHE_HOME/adapter-hub (~/.cache) for an s3:// store, "
        "none for a local one; off: none",
    )
    disk_cache_bytes: int = RESIDENCY(
        10 << 30, "disk tier budget: verified blobs by sha256, kept across restarts", minimum=1, unit="bytes"
    )
    alias_ttl_s: float = RESIDENCY(
        5.0, "seconds within which alias moves and deletions made through other servers reach this one", minimum=0
    )
    prefetch: str = RESIDENCY(
        "", "comma-separated TENANT/NAME[@VERSION] loaded at start-up (tenant `local` with auth off)", check=_entries
    )
    pin: str = RESIDENCY("", "comma-separated TENANT/NAME[@VERSION] loaded and pinned at start-up", check=_entries)
    tenant_pin_bytes: int = RESIDENCY(
        0, "file bytes one tenant may keep pinned; 0: a quarter of the device tier budget", minimum=0, unit="bytes"
    )
    # --- object store
    store: str = STORE(
        "",
        "adapter store: file:///abs/dir, a path, or s3://BUCKET[/PREFIX]",
        check=_store,
        default_doc="~/.local/share/adapter-hub/store ($XDG_DATA_HOME)",
    )
    store_breaker_failures: int = STORE(3, "consecutive object-store failures that open the circuit", minimum=1)
    store_breaker_open_s: float = STORE(5.0, "seconds the open circuit fails fast before one probe", minimum=0)
    store_timeout_s: float = STORE(5.0, "S3 read timeout per attempt in seconds (connect: at most 2 s)", minimum=0.001)
    store_retries: int = STORE(1, "S3 retries per call after the first attempt", minimum=0)
    s3_endpoint_url: str = STORE("", "S3-compatible endpoint; empty: AWS's (or AWS_ENDPOINT_URL)", check=_endpoint)
    s3_region: str = STORE("", "S3 region; empty: from the AWS environment/config")
    s3_create_bucket: bool = STORE(
        False, "create the bucket if missing (retried later when the store is unreachable at start-up)"
    )
    gc_interval_s: float = STORE(
        600.0, "seconds between background garbage collections of the store; 0: only `adapter-hub gc`", minimum=0
    )
    gc_grace_s: float = STORE(
        900.0,
        "an unreferenced blob, temp file or deleted version is reclaimed only once older than this",
        minimum=0,
    )
    s3_addressing_style: str = STORE(
        "", "empty: boto3's default; path for SeaweedFS/MinIO", choices=("", "path", "virtual", "auto")
    )
    # --- plugins
    plugins_allow: str = PLUGINS(
        "", "comma-separated plugin (entry-point) names to load; empty: every one; generic alone: only the built-in"
    )
    plugins_deny: str = PLUGINS(
        "", "comma-separated plugin names never to load (not even imported); not generic, which always loads"
    )
    # Plugin code (preprocessors, segmenters, postprocessors) runs on tenants' texts in worker
    # processes: a pathological input costs its own call, not the hub (hub/plugins/workers.py).
    plugin_workers: int = PLUGINS(
        2,
        "worker processes for plugin code on request texts, each call within plugin-budget-s; "
        "0: in the server process, without a time limit",
        minimum=0,
    )
    plugin_budget_s: float = PLUGINS(
        2.0,
        "seconds one request's plugin code may run in a worker; past it the worker is killed and "
        "replaced and the call refused (INVALID_ARGUMENT, naming the plugin); also the longest wait for a worker",
        minimum=0.01,
    )
    # --- auth and tenants
    auth: str = AUTH(
        "auto",
        "auto: on unless loopback + local store with no admin key; off only allowed there (and without an admin key)",
        choices=("auto", "on", "off"),
    )
    admin_key: str = AUTH("", "the operator's key for tenant management (required when auth is on)", secret=True)
    quota_bytes: int = AUTH(1 << 30, "default per-tenant storage quota", minimum=1, unit="bytes")
    quota_adapters: int = AUTH(1000, "default per-tenant adapter count", minimum=1)
    # --- TLS and connections (hub/transport/tls.py): certificate files are re-read when they
    # change, so a rotation needs no restart
    tls_cert: str = TLS("", "server certificate chain (PEM); with --tls-key: serve TLS", check=_readable_file)
    tls_key: str = TLS("", "the server certificate's private key (PEM)", check=_readable_file)
    tls_client_ca: str = TLS(
        "",
        "CA bundle (PEM) for client certificates: mutual TLS, a client certificate is required",
        check=_readable_file,
    )
    insecure: bool = TLS(False, "serve plaintext on an address other than loopback (a warning is logged)")
    keepalive_s: float = TLS(60.0, "seconds between the server's keepalive pings on an idle connection", minimum=1)
    keepalive_timeout_s: float = TLS(20.0, "seconds to wait for a keepalive ping's answer", minimum=1)
    keepalive_min_ping_s: float = TLS(
        10.0, "shortest interval between client keepalive pings the server tolerates", minimum=1
    )
    max_connection_age_s: float = TLS(
        0.0, "seconds after which a connection is closed gracefully (spreads load); 0: never", minimum=0
    )
    max_connection_age_grace_s: float = TLS(
        30.0, "seconds calls may still take on a connection closed for its age", minimum=0
    )
    max_concurrent_streams: int = TLS(0, "calls at once on one connection; 0: gRPC's default (no limit)", minimum=0)
    # --- metrics and logs (hub/observe/telemetry.py, hub/observe/logs.py)
    metrics_port: int = OBSERVE(
        0, "port of the Prometheus /metrics endpoint, on the serve host; 0: off", minimum=0, maximum=65535
    )
    metrics_max_tenants: int = OBSERVE(
        50, "tenants with their own metric labels (the first seen); the rest count as 'other'", minimum=1
    )
    log_format: str = OBSERVE("text", "server log lines: text, or json (one object per line)", choices=("text", "json"))

    def __post_init__(self) -> None:
        fold_case(self)
        if not self.store:  # empty: the per-user default directory
            object.__setattr__(self, "store", default_store())
        problems = collect_problems(self, _cross_checks)
        if problems:
            raise SettingsError(problems)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, file: Mapping[str, object] | None = None, **overrides: object
    ) -> Settings:
        """Defaults < ``file`` (``serve --config``, hub/config/settings_file.py) < ``environ``
        (os.environ when None) < ``overrides`` (None values skipped); strings are parsed as
        from the environment. Raises SettingsError listing every problem."""
        return from_sources(cls, os.environ if environ is None else environ, overrides, file)

    @property
    def store_uri(self) -> StoreURI:
        return parse_store_uri(self.store)

    @property
    def tenant_pin_limit(self) -> int:
        return self.tenant_pin_bytes or self.device_cache_bytes // 4

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _cross_checks(s: Settings) -> list[str]:
    """Problems that involve more than one setting (each value alone is valid)."""
    problems = _tls_checks(s)
    if s.quantize == "int8" and (s.dtype not in ("auto", "float32") or s.device.startswith("cuda")):
        problems.append(
            "ADAPTER_HUB_QUANTIZE (--quantize) int8 runs on CPU with dtype float32 only, "
            f"got device {s.device} and dtype {s.dtype}"
        )
    return problems


def _tls_checks(s: Settings) -> list[str]:
    problems = []
    if bool(s.tls_cert) != bool(s.tls_key):
        problems.append("ADAPTER_HUB_TLS_CERT (--tls-cert) and ADAPTER_HUB_TLS_KEY (--tls-key) go together: give both")
    if s.tls_client_ca and not s.tls_cert:
        problems.append("ADAPTER_HUB_TLS_CLIENT_CA (--tls-client-ca) needs the server's own certificate and key")
    if not s.tls_cert and not s.insecure and not is_loopback(s.host):
        problems.append(
            f"ADAPTER_HUB_HOST (--host) {s.host} is not a loopback address: serve TLS (--tls-cert, --tls-key) "
            "or pass --insecure (ADAPTER_HUB_INSECURE=true) to serve plaintext there"
        )
    if s.metrics_port and s.metrics_port == s.port:
        problems.append("ADAPTER_HUB_METRICS_PORT (--metrics-port) must differ from the gRPC port")
    return problems


def settings_markdown() -> str:
    """The README's configuration tables (paste them there when adding a setting)."""
    return markdown_tables(Settings, GROUPS)
