"""PredictStream through the real server: many requests on one call, answers paired by id."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import HubClient

from hub.cli.main import main as cli_main
from tests.residency.conftest import write_adapter_dir

pytestmark = pytest.mark.integration
TEXTS = ["shares rally after a strong quarter", "the regulator fined the bank", "a quiet day", "x"]


def scores(predictions) -> list[list[tuple[str, float]]]:  # type: ignore[no-untyped-def]
    return [[(x.label, round(x.score, 5)) for x in p.labels] for p in predictions]


def test_stream_answers_every_request_as_predict_would(start_hub, tiny_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, client = start_hub(tiny_runtime)
    for seed in (1, 2, 3):
        client.push(write_adapter_dir(tmp_path / f"a{seed}", tiny_runtime.spec, seed), f"a{seed}")
    requests = [(f"r{i}", f"a{i % 3 + 1}", TEXTS[: i % 4 + 1], "") for i in range(40)]
    requests.insert(7, ("missing", "nobody", ["hello"], ""))
    requests.insert(20, ("empty", "a1", [], ""))

    answers = list(client.predict_stream(iter(requests)))

    assert sorted(a.request_id for a in answers) == sorted(r[0] for r in requests)  # each once
    by_id = {a.request_id: a for a in answers}
    assert by_id["missing"].error.code() == grpc.StatusCode.NOT_FOUND
    assert "nobody" in by_id["missing"].error.message
    assert by_id["empty"].error.code() == grpc.StatusCode.INVALID_ARGUMENT
    for request_id, adapter, texts, task in requests:
        if request_id in ("missing", "empty"):
            continue
        streamed = by_id[request_id]
        assert streamed.error is None
        unary = client.predict(adapter, texts, task=task)
        assert {(p.adapter, p.version) for p in streamed.predictions} == {(adapter, unary[0].version)}
        assert scores(streamed.predictions) == scores(unary)


def test_stream_needs_a_valid_key_for_the_whole_call(start_hub, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    server, _ = start_hub(tiny_runtime, auth="on", admin_key="stream-admin")
    stranger = HubClient(f"127.0.0.1:{server.port}", api_key="ahk_0123456789abcdef_wrong")
    with stranger, pytest.raises(grpc.RpcError) as caught:
        list(stranger.predict_stream(iter([("r1", "a1", ["hello"], "")])))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_empty_stream_ends_cleanly(start_hub, tiny_runtime) -> None:  # type: ignore[no-untyped-def]
    _, client = start_hub(tiny_runtime)
    assert list(client.predict_stream(iter([]))) == []


def test_a_client_cancelling_mid_stream_leaves_the_server_serving(start_hub, tiny_runtime, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, client = start_hub(tiny_runtime)
    client.push(write_adapter_dir(tmp_path / "a1", tiny_runtime.spec, 1), "a1")
    hold = threading.Event()

    def requests():  # type: ignore[no-untyped-def]
        yield ("first", "a1", ["hello"], "")
        hold.wait(30)  # the client keeps the call open without sending more

    call = client.predict_stream(requests())
    assert next(call).request_id == "first"
    call.cancel()
    with pytest.raises(grpc.RpcError) as caught:
        next(call)
    assert caught.value.code() == grpc.StatusCode.CANCELLED
    hold.set()
    assert client.predict("a1", ["still serving"])[0].version == "1"
    assert [a.request_id for a in client.predict_stream(iter([("again", "a1", ["hi"], "")]))] == ["again"]


def test_predict_file_streams_every_line_in_order(
    start_hub, tiny_runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    server, client = start_hub(tiny_runtime)
    client.push(write_adapter_dir(tmp_path / "a1", tiny_runtime.spec, 1), "a1")
    texts = [f"{TEXTS[i % 4]} number {i}" for i in range(70)]
    lines = [*texts[:10], "", "   ", *texts[10:]]  # blank lines are skipped, numbering kept
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(lines) + "\n")
    target = ["--target", f"127.0.0.1:{server.port}"]

    capsys.readouterr()
    assert cli_main(["predict", "--adapter", "a1", "--file", str(source), "--json", *target]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["line"] for p in printed] == [*range(1, 11), *range(13, 73)]
    unary = client.predict("a1", [texts[0], texts[69]])
    assert printed[0]["predicted"] == unary[0].predicted
    assert printed[-1]["predicted"] == unary[1].predicted

    assert cli_main(["predict", "--adapter", "nobody", "--file", str(source), *target]) == 1
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and errors[0].startswith("error: NOT_FOUND: ") and errors[0].endswith("(lines 1-34)")
    assert cli_main(["predict", "--adapter", "a1", *target]) == 2  # neither texts nor --file
