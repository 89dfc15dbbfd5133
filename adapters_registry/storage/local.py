"""A directory on local disk as the object store (the embedded default)."""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters_registry import crashpoints
from adapters_registry.storage.base import (
    FULL,
    READ_ONLY,
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

_LOCK_DIR = ".locks"
_TMP_DIR = ".tmp"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED_ERRNOS = {errno.EACCES, errno.EPERM}


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fault(op: str, exc: OSError) -> StoreFault:
    """The domain error for an OSError: the message names no path (a tenant reads it), the
    detail (for the server log) has everything."""
    detail = f"local store {op}: {exc}"
    if exc.errno in _FULL_ERRNOS:
        return StoreFull(FULL, op=op, kind="full", detail=detail)
    if exc.errno == errno.EROFS:
        return StoreUnavailable(READ_ONLY, op=op, kind="read_only", detail=detail)
    if exc.errno in _DENIED_ERRNOS:
        return StoreUnavailable(READ_ONLY, op=op, kind="denied", detail=detail)
    return StoreUnavailable("the object store failed; retry in a few seconds", op=op, kind="failed", detail=detail)


class LocalStore(ObjectStore):
    """Objects are files under ``root``; writes are atomic (temp file + rename).

    Conditional writes hold an exclusive ``flock`` per key, so they are safe across
    threads and processes that share the directory. A failed write removes its temp file; one
    a crash left behind is removed by ``sweep`` (the garbage collector), as are idle lock files.
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
    def _faults(self, op: str) -> Iterator[None]:
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise
        except OSError as exc:
            fault = _fault(op, exc)
            self.record_fault(fault)
            raise fault from exc  # type: ignore[misc]

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        """An exclusive flock on the key's lock file. ``sweep`` may unlink an idle lock file:
        a locker that then holds the lock of an unlinked file notices (the path names another
        inode, or none) and locks again, so two lockers never both hold a key."""
        path = self.root / _LOCK_DIR / hashlib.sha256(key.encode()).hexdigest()
        while True:
            handle = open(path, "a")  # noqa: SIM115 - closed below
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    current = os.stat(path).st_ino
                except FileNotFoundError:
                    current = -1
                if current != os.fstat(handle.fileno()).st_ino:
                    continue  # swept while we waited: lock the file that is there now
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                return
            finally:
                handle.close()

    def get(self, key: str) -> StoredObject:
        try:
            with self._faults("get"):
                data = self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r}") from None
        return StoredObject(data=data, etag=_etag(data))

    def _write_temp(self, data: bytes) -> Path:
        """``data`` in a new temp file (fsynced); on any failure the temp file is removed."""
        fd, name = tempfile.mkstemp(dir=self.root / _TMP_DIR)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
        crashpoints.reached("store.temp_written")
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
        with self._faults("put"):
            _make_dirs(path.parent)
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
                try:
                    self._rename(temp, path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        temp.unlink()
                    raise
        return _etag(data)

    @staticmethod
    def _rename(temp: Path, path: Path) -> None:
        """Rename into place; a concurrent delete may prune the (then empty) parent directory
        between our mkdir and the rename: make it again and retry."""
        for _ in range(20):
            try:
                os.replace(temp, path)
                return
            except FileNotFoundError:
                if not temp.exists():
                    raise
                _make_dirs(path.parent)
        os.replace(temp, path)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._faults("delete"), self._key_lock(key):
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
        return [info.key for info in self._walk(prefix, stat=False)]

    def scan(self, prefix: str) -> builtins.list[ObjectInfo]:
        return self._walk(prefix, stat=True)

    def _walk(self, prefix: str, stat: bool) -> builtins.list[ObjectInfo]:
        found: builtins.list[ObjectInfo] = []
        with self._faults("list"):
            for dirpath, dirnames, filenames in os.walk(self.root):
                rel_dir = Path(dirpath).relative_to(self.root).as_posix()
                if rel_dir == ".":
                    dirnames[:] = [d for d in dirnames if d not in (_LOCK_DIR, _TMP_DIR)]
                    rel_dir = ""
                for name in filenames:
                    key = f"{rel_dir}/{name}" if rel_dir else name
                    if not key.startswith(prefix):
                        continue
                    if not stat:
                        found.append(ObjectInfo(key, 0, 0.0))
                        continue
                    try:
                        st = os.stat(os.path.join(dirpath, name))
                    except FileNotFoundError:
                        continue
                    found.append(ObjectInfo(key, st.st_size, st.st_mtime))
        return sorted(found, key=lambda info: info.key)

    def sweep(self, older_than_s: float, dry_run: bool = False) -> tuple[int, int]:
        """Remove temp files older than ``older_than_s`` (a crash's leftovers: a live write
        renames its temp file within one put) and lock files no one holds; return (files,
        bytes) removed (or, ``dry_run``, that would be)."""
        files = size = 0
        cutoff = time.time() - older_than_s
        for entry in _entries(self.root / _TMP_DIR):
            st = entry.stat()
            if st.st_mtime < cutoff:
                files, size = files + 1, size + st.st_size
                if not dry_run:
                    with contextlib.suppress(FileNotFoundError):
                        entry.unlink()
        for entry in _entries(self.root / _LOCK_DIR):
            if self._unlink_idle_lock(entry, dry_run):
                files += 1
        return files, size

    @staticmethod
    def _unlink_idle_lock(path: Path, dry_run: bool) -> bool:
        try:
            handle = open(path, "a")  # noqa: SIM115 - closed below
        except OSError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # held: in use
            try:
                if not dry_run:
                    path.unlink()
                return True
            except FileNotFoundError:
                return False
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _make_dirs(directory: Path) -> None:
    """mkdir -p that tolerates a concurrent delete pruning the same (empty) directories."""
    for _ in range(20):
        try:
            os.makedirs(directory, exist_ok=True)
            return
        except (FileExistsError, FileNotFoundError):
            continue  # pruned between the check and the creation: again
    os.makedirs(directory, exist_ok=True)


def _entries(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_file()]
    except FileNotFoundError:
        return []
