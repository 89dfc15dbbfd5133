"""The server's logs: text or JSON lines, one line per request, no library chatter.

``configure_logging`` is called once by ``adapter-hub serve``. Each request's line goes to the
``hub.requests`` logger with its fields (hub/observe/request_log.py) as ``extra``: in text
they follow the message as key=value pairs, in JSON they are the object's keys. Libraries'
progress bars and info chatter (the model loader's bars, HTTP client debug lines) are turned
off: they are not requests, and a bar rewritten with carriage returns breaks line-based logs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

REQUEST_LOGGER = "hub.requests"
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


def configure_logging(fmt: str = "text", level: str | int = "INFO", stream: Any = None) -> logging.Handler:
    """Route every log line through one handler in ``fmt`` (text | json) at ``level``; quiet
    the libraries. Returns the handler (tests remove it again)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
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
