"""One structured log line per request: its fields, in JSON or text, and never a key or a text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from adapter_hub_client import HubClient
from adapter_hub_client.calls import parse_ref

from hub.api.v1 import inference_pb2
from hub.observe.logs import REQUEST_LOGGER, TextFormatter, configure_logging, log_request
from tests.ops.conftest import ADMIN

SECRET_TEXT = "Patient Jane Roe, born 1970-01-02, reports chest pain"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The server's logging as `serve --log-format json` sets it up, into a buffer."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging("json", "INFO", stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]  # every line is JSON


@pytest.mark.integration
def test_a_json_line_per_request_without_secrets(start_hub, tiny_runtime, adapter_dir: Path, json_log) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, auth="on", admin_key=ADMIN)
    target = f"127.0.0.1:{server.port}"
    with HubClient(target, api_key=ADMIN, retries=0) as admin:
        key = admin.create_tenant("acme").api_key
    with HubClient(target, api_key=key, retries=0) as client:
        client.push(adapter_dir, "sent")
        request = inference_pb2.PredictRequest(adapter=parse_ref("sent"), texts=[SECRET_TEXT, "fine"])
        metadata = (*client.config.metadata, ("x-request-id", "trace-me-1"))
        _, call = client.stubs["inference"].Predict.with_call(request, metadata=metadata, timeout=30)
        assert ("x-request-id", "trace-me-1") in call.initial_metadata()
        client.fan_out(SECRET_TEXT, [("sent", ""), ("sent@1", "")])
        assert len(list(client.predict_stream([("s1", "sent", [SECRET_TEXT], ""), ("s2", "nope", ["x"], "")]))) == 2
    with HubClient(target, api_key="ahk_0123456789abcdef_wrong", retries=0) as stranger, pytest.raises(grpc.RpcError):
        stranger.predict("sent", [SECRET_TEXT])

    logged = json_log.getvalue()
    assert SECRET_TEXT not in logged and "Jane" not in logged
    assert key not in logged and ADMIN not in logged and "ahk_0123456789abcdef_wrong" not in logged
    requests = [line for line in lines(json_log) if line["logger"] == REQUEST_LOGGER]
    by_id = {line["request_id"]: line for line in requests}
    predict = by_id["trace-me-1"]
    assert predict["method"] == "Predict" and predict["tenant"] == "acme" and predict["status"] == "OK"
    assert predict["adapter"] == "sent@1" and predict["task"] == "generic.sequence_classification"
    assert predict["texts"] == 2 and predict["tokens"] >= 4  # two texts, each with [CLS] and [SEP] at least
    assert 0 <= predict["queue_ms"] <= predict["total_ms"] and predict["level"] == "INFO"
    fanout = next(line for line in requests if line["method"] == "FanOut")
    assert fanout["adapter"] == ["sent@1", "sent@1"] and fanout["texts"] == 1
    stream = [line for line in requests if line["method"] == "PredictStream"]
    call_line = next(line for line in stream if "/" not in line["request_id"])
    items = {line["request_id"].rsplit("/", 1)[1]: line for line in stream if "/" in line["request_id"]}
    assert items["s1"]["status"] == "OK" and items["s1"]["adapter"] == "sent@1"
    assert items["s2"]["status"] == "NOT_FOUND"
    assert call_line["requests"] == 2 and call_line["texts"] == 2 and call_line["tenant"] == "acme"
    assert all(line["request_id"].startswith(call_line["request_id"] + "/") for line in items.values())
    refused = next(line for line in requests if line["status"] == "UNAUTHENTICATED")
    assert refused["method"] == "Predict" and refused["refused"] == "auth" and refused["tenant"] == "-"
    upload = next(line for line in requests if line["method"] == "UploadAdapter")
    assert upload["status"] == "OK" and upload["tenant"] == "acme"


def test_text_lines_carry_the_same_fields() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.addHandler(handler)
    old, logger.level = logger.level, logging.INFO
    try:
        log_request({"request_id": "r1", "method": "FanOut", "adapter": ["a@1", "b@2"], "tenant": "", "status": "OK"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    line = buffer.getvalue().strip()
    assert line.endswith('request request_id=r1 method=FanOut adapter=a@1,b@2 tenant="" status=OK')
    assert " INFO hub.requests: " in line
