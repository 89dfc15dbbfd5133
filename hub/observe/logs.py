"""The server's logs: text or JSON lines, one line per request, no library chatter.

``configure_logging`` is called once by ``adapter-hub serve``. Each request's line goes to the
``hub.requests`` logger with its fields (hub/observe/request_log.py) as ``extra``: in text
they follow the message as key=value pairs, in JSON they are the object's keys. Libraries'
progress bars and info chatter (the model loader's bars, HTTP client debug lines) are turned
off: they are not requests, and a bar rewritten with carriage returns breaks line-based logs.

With ``--log-format json`` the process's stderr carries JSON lines only: gRPC's C core (absl
logging) writes its own plain-text lines to file descriptor 2 (a failed TLS handshake, for
one), which no Python handler sees. ``route_native_stderr`` points descriptor 2 at a pipe,
writes the handler's lines to the real stderr, and turns each line that arrives on the pipe
into a record: of the ``grpc.native`` logger (its level from absl's E/W/I/F prefix), or of the
``stderr`` logger for any other line (an uncaught traceback, one record per line).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import sys
import threading
import time
from typing import IO, Any

REQUEST_LOGGER = "hub.requests"
NATIVE_LOGGER = "grpc.native"  # gRPC's C core (absl's line format)
STDERR_LOGGER = "stderr"  # anything else written to descriptor 2 (an uncaught traceback, a library's print)
_NATIVE_LINE = re.compile(r"^([EWIF])\d{4} [\d:.]+\s+\d+ ([^\]\s]+)\] ?(.*)$")  # absl: E1207 20:25:40.1 42 x.cc:7] text
_NATIVE_LEVELS = {"E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "F": logging.CRITICAL}
MAX_NATIVE_LINE = 16384  # bytes of one native line kept (the rest of it is dropped)
_PLAIN = re.compile(r"^[A-Za-z0-9._:/@,=+~-]+$")
FIELDS_KEY = "hub_fields"  # the LogRecord attribute that carries a line's structured fields
# Loggers of libraries that talk at INFO during loading or per call; kept to warnings.
QUIET_LOGGERS = ("transformers", "huggingface_hub", "filelock", "urllib3", "botocore", "boto3", "s3transfer", "peft")
# Progress bars off (tqdm >= 4.66 reads TQDM_DISABLE; the Hugging Face libraries their own).
QUIET_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def request_logger() -> logging.Logger:
    return logging.getLogger(REQUEST_LOGGER)


def log_request(fields: dict[str, Any], level: int = logging.INFO) -> None:
    request_logger().log(level, "request", extra={FIELDS_KEY: fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out |= getattr(record, FIELDS_KEY, None) or {}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual text line, with the line's fields as key=value pairs after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, FIELDS_KEY, None)
        if not fields:
            return line
        pairs = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
        head, newline, rest = line.partition("\n")  # keep a traceback below the line
        return f"{head} {pairs}{newline}{rest}"


def _text(value: Any) -> str:
    """A value as a key=value pair shows it: plain tokens bare, anything else quoted (escaped)."""
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if _PLAIN.match(text) else json.dumps(text)


def configure_logging(
    fmt: str = "text", level: str | int = "INFO", stream: Any = None, route_native: bool = False
) -> logging.Handler:
    """Route every log line through one handler in ``fmt`` (text | json) at ``level``; quiet
    the libraries; ``route_native``: native stderr lines too (``route_native_stderr``).
    Returns the handler (tests remove it again)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if route_native and stream is None:
        stream = route_native_stderr()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler


def route_native_stderr() -> IO[str]:
    """Point file descriptor 2 at a pipe whose lines become ``grpc.native`` log records; return
    a stream on the original stderr for the log handler. Call before gRPC's first log line."""
    saved = os.dup(2)
    original = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="replace")
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    pump = threading.Thread(target=_pump, args=(read_fd,), name="native-stderr", daemon=True)
    pump.start()

    def restore() -> None:
        """At exit: fd 2 back to the real stderr, which ends the pipe; its last lines logged."""
        sys.stderr.flush()
        os.dup2(saved, 2)
        pump.join(2.0)

    atexit.register(restore)
    return original


def _pump(read_fd: int) -> None:
    native, other = logging.getLogger(NATIVE_LOGGER), logging.getLogger(STDERR_LOGGER)
    with os.fdopen(read_fd, "rb") as pipe:
        while raw := pipe.readline(MAX_NATIVE_LINE):
            if not raw.endswith(b"\n"):
                while (rest := pipe.readline(MAX_NATIVE_LINE)) and not rest.endswith(b"\n"):
                    pass  # the line's remainder beyond the bound: dropped
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                level, fields, message = native_record(line)
                (native if fields else other).log(level, "%s", message, extra={FIELDS_KEY: fields})


def native_record(line: str) -> tuple[int, dict[str, Any], str]:
    """(level, fields, message) of one line a native library wrote to stderr."""
    match = _NATIVE_LINE.match(line)
    if match is None:
        return logging.WARNING, {}, line
    return _NATIVE_LEVELS[match.group(1)], {"source": match.group(2)}, match.group(3)
