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
    max_workers: int = 16  # gRPC handler threads
    max_texts_per_request: int = 256
    max_text_chars: int = 20_000
    max_tokens_per_text: int = 512
    max_fanout_targets: int = 32
    max_upload_bytes: int = 64 << 20
    max_adapter_rank: int = 64
    adapter_cache_size: int = 64  # adapters kept packed in memory (least recently used evicted)
    shutdown_grace_s: float = 10.0
    plugins_allow: str = ""  # comma-separated plugin (entry-point) names to load; empty: every one
    plugins_deny: str = ""  # comma-separated plugin names never to load (not even imported)
    auth: str = "auto"  # auto: on unless loopback + local store | on | off (loopback + local only)
    admin_key: str = ""  # the operator's key for tenant management (required when auth is on)
    quota_bytes: int = 1 << 30  # default per-tenant storage quota
    quota_adapters: int = 1000  # default per-tenant adapter count
    s3_endpoint_url: str = ""  # any S3-compatible endpoint; empty: AWS's (or AWS_ENDPOINT_URL)
    s3_region: str = ""  # empty: from the AWS environment/config
    s3_create_bucket: bool = False  # create the bucket if missing

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
