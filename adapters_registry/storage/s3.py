"""Amazon S3, or any S3-compatible server, as the object store (through boto3).

The only module of the project that imports boto3 and botocore. Conditional writes are the
server's own: PutObject with ``If-None-Match: *`` (create-only) and ``If-Match: "<etag>"``
(compare-and-swap). AWS S3 and SeaweedFS 4.48 enforce both atomically (the threaded races in
tests/registry run against SeaweedFS). A conditional PUT that botocore retries after a lost
response may report ConditionFailed for a write that landed; callers re-read and decide, as
after any lost race. Credentials, region and endpoint not given as options come from the
standard AWS chain (environment, ``~/.aws``, instance role; ``AWS_ENDPOINT_URL[_S3]`` too).
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
)

from adapters_registry.storage.base import (
    FULL,
    UNREACHABLE,
    ConditionFailed,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StoredObject,
    StoreFault,
    StoreFull,
    StoreUnavailable,
    check_key,
)
from adapters_registry.storage.uri import StoreURI, parse_store_uri
from hub.errors import DomainError, InvalidArgument, NotFound

_MISSING = {"NoSuchKey", "NotFound", "404"}
_LOST_CONDITION = {"PreconditionFailed", "ConditionalRequestConflict"}
_DENIED = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken"}
# a quota or a full disk at the store (AWS, MinIO, SeaweedFS, Ceph spellings; HTTP 507)
_FULL = {"QuotaExceeded", "XMinioStorageFull", "InsufficientStorage", "EntityTooLarge", "StorageFull"}
_BUCKET_RETRY_S = 2.0


class BucketNotFound(StoreFault, NotFound):
    """The configured bucket does not exist (and the store may not create it)."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.op, self.kind, self.detail = "bucket", "no_bucket", detail


@dataclass(frozen=True)
class S3Options:
    """Connection settings; ``None`` means: take it from the standard AWS chain."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    addressing_style: str | None = None  # "path", "virtual" or "auto"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retries: int = 3
    max_pool_connections: int = 32
    create_bucket: bool = False

    @classmethod
    def from_kwargs(cls, options: dict[str, Any]) -> S3Options:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            names, allowed = ", ".join(unknown), ", ".join(sorted(known))
            raise InvalidArgument(f"unknown S3 store option(s) {names}; known: {allowed}")
        return cls(**options)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://BUCKET[/PREFIX]`` -> (bucket, prefix without surrounding slashes)."""
    parsed = parse_store_uri(uri)
    if parsed.scheme != "s3":
        raise InvalidArgument(f"S3 store URI must be s3://BUCKET[/PREFIX], got {uri!r}")
    return parsed.bucket, parsed.prefix


def _make_client(options: S3Options) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        aws_session_token=options.session_token,
        region_name=options.region,
    )
    config = Config(
        signature_version="s3v4",
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"total_max_attempts": options.max_retries + 1, "mode": "standard"},
        max_pool_connections=options.max_pool_connections,
        s3={"addressing_style": options.addressing_style} if options.addressing_style else None,
    )
    return session.client("s3", endpoint_url=options.endpoint_url, config=config)


def _safe_endpoint(url: str) -> str:
    """The endpoint without user info, query or fragment: fit for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


class S3Store(ObjectStore):
    """Objects under ``s3://BUCKET/PREFIX``; keys are relative to PREFIX."""

    def __init__(self, uri: str | StoreURI, options: S3Options | None = None) -> None:
        self.bucket, self.prefix = parse_s3_uri(uri) if isinstance(uri, str) else (uri.bucket, uri.prefix)
        self.uri = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.options = options or S3Options()
        self._base = f"{self.prefix}/" if self.prefix else ""
        self._client = _make_client(self.options)
        self.endpoint = _safe_endpoint(self._client.meta.endpoint_url)
        self._bucket_due = 0.0 if self.options.create_bucket else None  # when to try creating it next
        self._bucket_lock = threading.Lock()
        if self.options.create_bucket:
            self._bucket_pending()

    def _bucket_pending(self) -> None:
        """Create the bucket if missing (create_bucket). While the store is unreachable (a hub
        restarted during an outage) the store opens anyway and tries again on later calls, at
        most every 2 s; any other failure (denied, bad name) is raised."""
        if self._bucket_due is None or time.monotonic() < self._bucket_due:
            return
        with self._bucket_lock:
            if self._bucket_due is None:
                return
            try:
                self._ensure_bucket()
            except StoreUnavailable as exc:
                if exc.kind != "unreachable":
                    raise
                self._bucket_due = time.monotonic() + _BUCKET_RETRY_S
                logging.getLogger("adapters_registry.storage").warning(
                    "bucket check deferred: the store is unreachable (%s); retrying on later calls", exc.detail
                )
                return
            self._bucket_due = None

    def __repr__(self) -> str:
        return f"S3Store({self.uri!r}, endpoint={self.endpoint!r})"

    def get(self, key: str) -> StoredObject:
        full = self._base + check_key(key)
        response = self._call("get", key, self._client.get_object, Bucket=self.bucket, Key=full)
        data = self._call("get", key, response["Body"].read)
        return StoredObject(data=data, etag=_strip(response["ETag"]))

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        full = self._base + check_key(key)
        conditions: dict[str, Any] = {}
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        if if_match is not None:
            conditions["IfMatch"] = f'"{_strip(if_match)}"'
        request = {"Bucket": self.bucket, "Key": full, "Body": data, **conditions}
        try:
            response = self._call("put", key, self._client.put_object, **request)
        except ObjectNotFound:  # AWS answers If-Match on a missing key with 404
            raise ConditionFailed(f"object {key!r} does not exist") from None
        except ConditionFailed:
            lost = "exists already" if if_none_match else "changed concurrently"
            raise ConditionFailed(f"object {key!r} {lost}") from None
        return _strip(response["ETag"])

    def delete(self, key: str) -> None:
        full = self._base + check_key(key)
        try:
            self._call("delete", key, self._client.delete_object, Bucket=self.bucket, Key=full)
        except ObjectNotFound:
            return

    def exists(self, key: str) -> bool:
        full = self._base + check_key(key)
        try:
            self._call("head", key, self._client.head_object, Bucket=self.bucket, Key=full)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        return [info.key for info in self.scan(prefix)]

    def scan(self, prefix: str) -> builtins.list[ObjectInfo]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self._base + prefix)
        found: builtins.list[ObjectInfo] = []
        for page in self._call("list", prefix, list, pages):
            for item in page.get("Contents", []):
                key = item["Key"][len(self._base) :]
                if key and not key.endswith("/"):
                    modified = item.get("LastModified")
                    found.append(ObjectInfo(key, int(item.get("Size", 0)), modified.timestamp() if modified else 0.0))
        return sorted(found, key=lambda info: info.key)

    def close(self) -> None:
        self._client.close()

    def _ensure_bucket(self) -> None:
        try:
            self._call("check bucket", "", self._client.head_bucket, Bucket=self.bucket)
            return
        except (BucketNotFound, ObjectNotFound):
            pass
        region = self._client.meta.region_name
        extra: dict[str, Any] = {}
        if region not in (None, "us-east-1", "aws-global"):
            extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._call("create bucket", "", self._client.create_bucket, Bucket=self.bucket, **extra)
        except StoreUnavailable as exc:
            cause = exc.__cause__
            if not (isinstance(cause, ClientError) and _code(cause) == "BucketAlreadyOwnedByYou"):
                raise  # else a concurrent opener created it first

    def _call(self, op: str, key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if op not in ("check bucket", "create bucket"):
            self._bucket_pending()
        try:
            return fn(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ParamValidationError):
                raise
            error = self._translate(exc, op, key)
            if isinstance(error, BucketNotFound) and self._bucket_due is not None:
                self._bucket_due = 0.0  # the store is back but the bucket is not made yet: now
                self._bucket_pending()
                if self._bucket_due is None:
                    return self._call(op, key, fn, *args, **kwargs)
                error = StoreUnavailable(  # still to be created (create_bucket): later, not never
                    "the object store's bucket is not created yet; retry in a few seconds",
                    op=op,
                    kind="no_bucket",
                    detail=error.detail,
                )
            if isinstance(error, StoreFault):
                self.record_fault(error)
            raise error from exc

    def _translate(self, exc: Exception, op: str, key: str) -> DomainError:
        """The domain error for a boto failure. Messages name no endpoint, bucket or key (a
        tenant reads them); ``detail`` has all of it, for the server log."""
        what = f"{op} {key!r}" if key else op
        where = f"{self.endpoint} bucket {self.bucket}"
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return StoreUnavailable(
                "the object store has no usable credentials; ask the operator",
                op=op,
                kind="denied",
                detail=f"no usable S3 credentials for {where}: set them in the store options or the AWS environment",
            )
        if not isinstance(exc, ClientError):
            detail = f"object store at {where} is unreachable ({type(exc).__name__} on {what})"
            return StoreUnavailable(UNREACHABLE, op=op, kind="unreachable", detail=detail)
        code, status = _code(exc), _status(exc)
        if code == "NoSuchBucket":
            return BucketNotFound(
                "the object store's bucket does not exist; the operator must create it "
                "(or set ADAPTER_HUB_S3_CREATE_BUCKET=true)",
                detail=f"bucket {self.bucket} does not exist at {self.endpoint}; create it or open "
                "the store with create_bucket=True",
            )
        if code in _MISSING or status == 404:
            return ObjectNotFound(f"no object {key!r}")
        if code in _LOST_CONDITION or status == 412:
            return ConditionFailed(f"conditional {what} lost: the object exists or changed")
        detail = f"object store at {where} answered {what} with {code or 'error'} (HTTP {status})"
        if code in _FULL or status == 507:
            return StoreFull(FULL, op=op, kind="full", detail=detail)
        if code in _DENIED or status == 403:
            return StoreUnavailable(
                f"the object store refused {op} ({code or 'denied'}): check the S3 credentials and their permissions",
                op=op,
                kind="denied",
                detail=detail,
            )
        return StoreUnavailable(UNREACHABLE, op=op, kind="failed", detail=detail)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _strip(etag: str) -> str:
    return etag.strip().strip('"')
