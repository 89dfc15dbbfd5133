"""Small files on local disk that remember what was last read from the object store.

A server keeps what it reads from the store (tenant records, key owners, name resolutions) in
memory, and keeps using it while the store is unreachable. A restart empties memory; a server
restarted during an outage would then know nothing, though its disk tier still holds adapters.
A journal keeps a copy of those small answers on disk for exactly that case, and only for it:
it is read when the store cannot be reached and memory has nothing.

Each entry is written to a temporary file and renamed into place (never half written), readable
by this user only. Failing to write only loses the fallback, so errors are logged, not raised.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from pathlib import Path

log = logging.getLogger("adapters_registry.journal")
# every path part is a registry name, alias, version number or key id: never "..", never a path
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def atomic_write(path: Path, data: bytes, private: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place, so a reader
    sees the old file or the whole new one; ``private``: readable by this user only. Raises
    OSError (the temporary file removed)."""
    temp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
        temp.write_bytes(data)
        if private:
            temp.chmod(0o600)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


class Journal:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write(self, parts: tuple[str, ...], data: bytes) -> None:
        path = self._path(parts)
        if path is None:
            return
        try:
            atomic_write(path, data, private=True)
        except OSError as exc:
            log.warning("journal: cannot write %s: %s", path, exc)

    def read(self, parts: tuple[str, ...]) -> bytes | None:
        path = self._path(parts)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("journal: cannot read %s: %s", path, exc)
            return None

    def remove(self, parts: tuple[str, ...]) -> None:
        path = self._path(parts)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def _path(self, parts: tuple[str, ...]) -> Path | None:
        if not parts or not all(_PART.match(p) for p in parts):
            return None
        return self.root.joinpath(*parts[:-1], f"{parts[-1]}.json")
