"""Server settings: defaults, environment variables (ADAPTER_HUB_*) and CLI flags, in that order."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

ENV_PREFIX = "ADAPTER_HUB_"
DEFAULT_BACKBONE = "packaged:all-minilm-l6-v2"
DEFAULT_PORT = 50051


def default_store() -> str:
    return str(Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "adapter-hub/store")


@dataclass
class Settings:
    """Everything `adapter-hub serve` can be told. Each field reads ADAPTER_HUB_<FIELD>."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    store: str = ""  # URI: file:///abs/dir or a path; empty: the per-user default directory
    backbone: str = DEFAULT_BACKBONE  # "packaged:all-minilm-l6-v2" or a local HF model directory
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "float32"  # float32 | float16 | bfloat16
    # gRPC handler threads. Each waiting request holds one, so this also bounds how many
    # single-text requests one batch can gather: keep it well above max_batch_size (the serving
    # benchmark's figures were measured at 96)
    max_workers: int = 96
    max_texts_per_request: int = 256
    max_text_chars: int = 20_000
    max_tokens_per_text: int = 512
    max_fanout_targets: int = 32
    max_upload_bytes: int = 64 << 20
    max_adapter_rank: int = 64
    # Residency (hub/residency): byte budgets per tier, least recently used evicted, pins kept.
    device_cache_bytes: int = 2 << 30  # packed adapters the engine consumes (PackedAdapter.nbytes)
    host_cache_bytes: int = 2 << 30  # verified adapter file bytes in memory
    disk_cache_dir: str = ""  # empty: ~/.cache/adapter-hub for an s3:// store, none for a local one; "off"
    disk_cache_bytes: int = 10 << 30  # verified blobs by sha256 on local disk, kept across restarts
    alias_ttl_s: float = 5.0  # alias moves / deletions made through other servers reach this one within it
    prefetch: str = ""  # comma-separated TENANT/NAME[@VERSION] loaded at start-up
    pin: str = ""  # comma-separated TENANT/NAME[@VERSION] loaded and pinned at start-up
    tenant_pin_bytes: int = 0  # what one tenant may pin (file bytes); 0: a quarter of device_cache_bytes
    store_breaker_failures: int = 3  # consecutive object-store failures that open the circuit
    store_breaker_open_s: float = 5.0  # seconds the open circuit fails fast before one probe
    store_timeout_s: float = 5.0  # S3 read timeout per attempt (connect: at most 2 s)
    store_retries: int = 1  # S3 retries per call after the first attempt
    shutdown_grace_s: float = 10.0
    max_batch_size: int = 32  # rows per engine forward, batched across requests and tenants
    max_batch_wait_ms: float = 2.0  # how long the oldest queued row may wait for a batch to fill
    # Fair serving under overload (hub/serving/fair.py, admission.py). 0 means derived:
    scheduler: str = "fair"  # fair | fifo (today's first-in first-out batcher, no bounds)
    queue_max_s: float = 2.0  # queued work in total, in seconds at the measured throughput
    queue_max_tokens: int = 0  # 0: queue_max_s of work (at least 2 full batches of 128 tokens)
    queue_max_requests: int = 0  # 0: three quarters of max_workers (each waiting call holds one)
    tenant_queue_max_tokens: int = 0  # 0: half of the total
    tenant_queue_max_requests: int = 0  # 0: half of the total
    torch_threads: int = 0  # torch intra-op threads; 0: one per core but one (at least 1)
    quantize: str = "none"  # none | int8: dynamic int8 of the frozen backbone's Linears (CPU)
    plugins_allow: str = ""  # comma-separated plugin (entry-point) names to load; empty: every one
    plugins_deny: str = ""  # comma-separated plugin names never to load (not even imported)
    auth: str = "auto"  # auto: on unless loopback + local store | on | off (loopback + local only)
    admin_key: str = ""  # the operator's key for tenant management (required when auth is on)
    quota_bytes: int = 1 << 30  # default per-tenant storage quota
    quota_adapters: int = 1000  # default per-tenant adapter count
    s3_endpoint_url: str = ""  # any S3-compatible endpoint; empty: AWS's (or AWS_ENDPOINT_URL)
    s3_region: str = ""  # empty: from the AWS environment/config
    s3_create_bucket: bool = False  # create the bucket if missing
    s3_addressing_style: str = ""  # path | virtual | auto; empty: boto3's default ("path" for SeaweedFS/MinIO)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        environ = dict(os.environ) if environ is None else environ
        settings = cls()
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                setattr(settings, f.name, _coerce(f.name, type(getattr(settings, f.name)), raw))
        for name, value in overrides.items():
            if value is not None:
                setattr(settings, name, value)
        if not settings.store:
            settings.store = default_store()
        return settings

    @property
    def tenant_pin_limit(self) -> int:
        return self.tenant_pin_bytes or self.device_cache_bytes // 4

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _coerce(name: str, kind: type, raw: str) -> object:
    try:
        if kind is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        return kind(raw)
    except ValueError:
        raise SystemExit(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}") from None
