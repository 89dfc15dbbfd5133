"""A directory on local disk as the object store (the embedded default)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters_registry.storage.base import (
    ConditionFailed,
    ObjectNotFound,
    ObjectStore,
    StoredObject,
    check_key,
)

_LOCK_DIR = ".locks"
_TMP_DIR = ".tmp"


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStore(ObjectStore):
    """Objects are files under ``root``; writes are atomic (temp file + rename).

    Conditional writes hold an exclusive ``flock`` per key, so they are safe across
    threads and processes that share the directory.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / _LOCK_DIR).mkdir(exist_ok=True)
        (self.root / _TMP_DIR).mkdir(exist_ok=True)
        self.uri = self.root.as_uri()
        self._thread_lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        name = hashlib.sha256(key.encode()).hexdigest()
        with open(self.root / _LOCK_DIR / name, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def get(self, key: str) -> StoredObject:
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r}") from None
        return StoredObject(data=data, etag=_etag(data))

    def _write_temp(self, data: bytes) -> Path:
        fd, name = tempfile.mkstemp(dir=self.root / _TMP_DIR)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return Path(name)

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._key_lock(key):
            exists = path.is_file()
            if if_none_match and exists:
                raise ConditionFailed(f"object {key!r} exists already")
            if if_match is not None:
                if not exists:
                    raise ConditionFailed(f"object {key!r} does not exist")
                if _etag(path.read_bytes()) != if_match:
                    raise ConditionFailed(f"object {key!r} changed concurrently")
            temp = self._write_temp(data)
            os.replace(temp, path)
        return _etag(data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._key_lock(key):
            try:
                path.unlink()
            except FileNotFoundError:
                return
        self._prune_empty_dirs(path.parent)

    def _prune_empty_dirs(self, directory: Path) -> None:
        while directory != self.root:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d not in (_LOCK_DIR, _TMP_DIR)]
                rel_dir = ""
            for name in filenames:
                key = f"{rel_dir}/{name}" if rel_dir else name
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)
