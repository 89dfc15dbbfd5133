"""Assemble a client-streamed upload into whole files, enforcing caps as bytes arrive."""

from __future__ import annotations

from dataclasses import dataclass, field

from hub.errors import InvalidArgument, ResourceExhausted

MAX_FILES = 8


@dataclass(frozen=True)
class UploadHeader:
    name: str
    task: str = ""
    labels: tuple[str, ...] = ()
    description: str = ""
    idempotency_key: str = ""  # a retried push with the same key returns the first attempt's version

    def __post_init__(self) -> None:
        key = self.idempotency_key
        if len(key) > 128 or not key.isprintable():
            raise InvalidArgument("idempotency_key: at most 128 printable characters")


@dataclass
class UploadAssembler:
    max_bytes: int
    header: UploadHeader | None = None
    files: dict[str, bytearray] = field(default_factory=dict)
    _current: str | None = None
    _total: int = 0

    def add_header(self, header: UploadHeader) -> None:
        if self.header is not None or self.files:
            raise InvalidArgument("the upload header must come once, before any file chunk")
        self.header = header

    def add_chunk(self, path: str, data: bytes) -> None:
        if self.header is None:
            raise InvalidArgument("the upload must start with a header naming the adapter")
        if not path:
            raise InvalidArgument("a file chunk needs a path")
        if path != self._current and path in self.files:
            raise InvalidArgument(f"file {path!r} sent twice (chunks of one file must be in sequence)")
        if path not in self.files and len(self.files) >= MAX_FILES:
            raise InvalidArgument(f"an adapter has at most {MAX_FILES} files")
        self._total += len(data)
        if self._total > self.max_bytes:
            raise ResourceExhausted(f"upload exceeds the limit of {self.max_bytes} bytes")
        self.files.setdefault(path, bytearray()).extend(data)
        self._current = path

    def finish(self) -> tuple[UploadHeader, dict[str, bytes]]:
        if self.header is None:
            raise InvalidArgument("empty upload: send a header and the adapter's files")
        if not self.files:
            raise InvalidArgument("the upload holds no files")
        return self.header, {path: bytes(data) for path, data in self.files.items()}
