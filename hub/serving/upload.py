"""Assemble a client-streamed upload into whole files, enforcing caps as bytes arrive.

Chunks are spilled to one anonymous temporary file (unlinked at creation, so it goes away on
every exit path, a killed process included) instead of being held in memory: an upload that
stalls after its first chunks holds a file descriptor and disk space up to
``max_upload_bytes``, not memory. ``finish`` reads the files back for the artifact checks.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import IO

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


def _anonymous_file(directory: str | None) -> IO[bytes]:
    """A temporary file already unlinked: nothing to remove on any exit path (its descriptor
    still names it, as ``adapter-hub-upload-* (deleted)``, for whoever inspects the process)."""
    fd, path = tempfile.mkstemp(prefix="adapter-hub-upload-", dir=directory)
    os.unlink(path)
    return os.fdopen(fd, "w+b")


@dataclass
class UploadAssembler:
    max_bytes: int
    spill_dir: str | None = None  # None: the system's temporary directory
    header: UploadHeader | None = None
    files: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # path -> (offset, length) spans
    _current: str | None = None
    _total: int = 0
    _spill: IO[bytes] | None = None

    def add_header(self, header: UploadHeader) -> None:
        if self.header is not None or self.files:
            raise InvalidArgument("the upload header must come once, before any file chunk")
        self.header = header

    def check_chunk(self, path: str, size: int) -> None:
        """Raise if a chunk of ``size`` bytes for ``path`` may not come now (nothing written)."""
        if self.header is None:
            raise InvalidArgument("the upload must start with a header naming the adapter")
        if not path:
            raise InvalidArgument("a file chunk needs a path")
        if path != self._current and path in self.files:
            raise InvalidArgument(f"file {path!r} sent twice (chunks of one file must be in sequence)")
        if path not in self.files and len(self.files) >= MAX_FILES:
            raise InvalidArgument(f"an adapter has at most {MAX_FILES} files")
        if self._total + size > self.max_bytes:
            raise ResourceExhausted(f"upload exceeds the limit of {self.max_bytes} bytes")

    def add_chunk(self, path: str, data: bytes) -> None:
        """Check and spill one chunk (blocking file I/O: the front end runs it off its loop)."""
        self.check_chunk(path, len(data))
        if self._spill is None:
            self._spill = _anonymous_file(self.spill_dir)
        self._spill.seek(self._total)
        self._spill.write(data)
        self.files.setdefault(path, []).append((self._total, len(data)))
        self._total += len(data)
        self._current = path

    @property
    def total_bytes(self) -> int:
        return self._total

    def finish(self) -> tuple[UploadHeader, dict[str, bytes]]:
        if self.header is None:
            raise InvalidArgument("empty upload: send a header and the adapter's files")
        if not self.files:
            raise InvalidArgument("the upload holds no files")
        assert self._spill is not None
        files = {}
        for path, spans in self.files.items():
            parts = []
            for offset, length in spans:
                self._spill.seek(offset)
                parts.append(self._spill.read(length))
            files[path] = b"".join(parts)
        return self.header, files

    def close(self) -> None:
        """Drop the spilled bytes (idempotent)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    def __enter__(self) -> UploadAssembler:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
