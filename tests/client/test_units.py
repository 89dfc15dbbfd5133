"""The client library's parts without a server: typed results cover the messages, requests,
configuration from arguments and environment, errors by status code."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import grpc
import pytest
from adapter_hub_client import ClientConfig, HubError, InvalidArgument, NotFound, ResourceExhausted, Unavailable
from adapter_hub_client import types as t
from adapter_hub_client.api.v1 import adapters_pb2, common_pb2, inference_pb2
from adapter_hub_client.calls import fan_out, parse_ref, predict, upload_files
from adapter_hub_client.convert import MIRRORS, mirror, predictions
from adapter_hub_client.errors import error_for, error_for_number, status_name
from adapter_hub_client.streaming import chunked, file_lines, stream_item, stream_request
from google.protobuf import symbol_database


@pytest.mark.parametrize("message", sorted(MIRRORS))
def test_each_mirror_has_exactly_its_messages_fields(message: str) -> None:
    descriptor = symbol_database.Default().pool.FindMessageTypeByName(message)
    assert [f.name for f in fields(MIRRORS[message])] == [f.name for f in descriptor.fields]


def test_prediction_has_the_message_fields_and_what_served_it() -> None:
    names = [f.name for f in fields(t.Prediction)]
    assert names[:4] == [f.name for f in inference_pb2.Prediction.DESCRIPTOR.fields]
    assert names[4:] == ["adapter", "version", "task", "head_kind"]


def test_a_response_becomes_typed_predictions() -> None:
    response = inference_pb2.PredictResponse(
        adapter="ner", version="3", task="generic.token_classification", head_kind=common_pb2.HEAD_KIND_TOKEN,
        predictions=[inference_pb2.Prediction(
            entities=[inference_pb2.Entity(label="Drug", start=0, end=9, text="Cisplatin", score=0.5)],
            segments=[inference_pb2.Segment(start=0, end=9, text="Cisplatin", predicted=["x"])],
        )],
    )  # fmt: skip
    [p] = predictions(response)
    assert (p.served_by, p.head_kind, p.label) == ("ner@3", "token", None)
    assert p.entities == [t.Entity("Drug", 0, 9, "Cisplatin", 0.5)]
    assert p.segments == [t.Segment(0, 9, "Cisplatin", [], [], ["x"])]


def test_nested_messages_maps_and_enums_are_converted() -> None:
    info = adapters_pb2.AdapterSummary(
        name="a", aliases={"prod": "1"},
        versions=[adapters_pb2.AdapterVersionInfo(name="a", version="1", tasks=[common_pb2.TaskHead(
            task="t", head_kind=common_pb2.HEAD_KIND_MULTI_LABEL, labels=["x"])])],
    )  # fmt: skip
    adapter = mirror(t.Adapter, info)
    assert adapter.aliases == {"prod": "1"} and adapter.versions[0].ref == "a@1"
    assert adapter.versions[0].tasks == [t.TaskHead("t", "multi_label", ["x"], 0.0)]


def test_requests() -> None:
    assert parse_ref("a@prod") == common_pb2.AdapterRef(name="a", version="prod")
    assert parse_ref("a") == common_pb2.AdapterRef(name="a", version="")
    assert predict("a@2", ["x"], None).request.texts == ["x"]
    with pytest.raises(TypeError, match="list of strings"):
        predict("a", "one text", None)  # type: ignore[arg-type]
    targets = fan_out("x", ["a@1:t1", "b", ("c", "t3")]).request.targets
    assert [(x.adapter.name, x.adapter.version, x.task) for x in targets] == [("a", "1", "t1"), ("b", "", ""),
                                                                               ("c", "", "t3")]  # fmt: skip


def test_uploads_skip_hidden_files_and_refuse_links(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "a.bin").write_bytes(b"x")
    (tmp_path / ".hidden").write_text("")
    assert [p.name for p in upload_files(tmp_path)] == ["a.bin", "b.json"]
    (tmp_path / "c.json").symlink_to(tmp_path / "b.json")
    with pytest.raises(ValueError, match=r"symbolic links: c\.json"):
        upload_files(tmp_path)


def test_arguments_win_over_the_environment_which_wins_over_defaults(tmp_path: Path) -> None:
    env = {"ADAPTER_HUB_TARGET": "hub:1", "ADAPTER_HUB_API_KEY": "env-key", "ADAPTER_HUB_TLS_CA": "/ca.pem"}
    config = ClientConfig.from_env(env, api_key="given", timeout=5)
    assert (config.target, config.api_key, config.tls_ca, config.timeout) == ("hub:1", "given", Path("/ca.pem"), 5)
    assert config.tls and config.metadata == (("authorization", "Bearer given"),)
    plain = ClientConfig.from_env({})
    assert (plain.target, plain.api_key, plain.tls, plain.metadata) == ("127.0.0.1:50051", None, False, ())
    mtls = ClientConfig.from_env({"ADAPTER_HUB_TLS_CLIENT_CERT": "c.pem", "ADAPTER_HUB_TLS_CLIENT_KEY": "k.pem"})
    assert (mtls.tls_cert, mtls.tls_key, mtls.tls) == (Path("c.pem"), Path("k.pem"), True)
    from adapter_hub_client.config import resolve

    given = resolve("other:2", ClientConfig(api_key="k"), {"tls_ca": "ca.pem", "timeout": None})
    assert (given.target, given.api_key, given.tls_ca, given.timeout) == ("other:2", "k", Path("ca.pem"), 60.0)


def test_bad_configuration_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="client certificate needs its key"):
        ClientConfig.from_env({}, tls_cert="c.pem")
    with pytest.raises(TypeError, match="unknown client option"):
        ClientConfig.from_env({}, api_kee="x")
    with pytest.raises(ValueError, match="timeout"):
        ClientConfig(timeout=0)
    with pytest.raises(ValueError, match="cannot read the CA bundle"):
        ClientConfig(tls_ca=Path("/nonexistent/ca.pem")).credentials()


def test_channel_options() -> None:
    options = dict(ClientConfig(keepalive_s=30, tls_server_name="hub.internal", options=(("grpc.x", 1),))
                   .channel_options())  # fmt: skip
    assert options["grpc.keepalive_time_ms"] == 30_000 and options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.ssl_target_name_override"] == "hub.internal" and options["grpc.x"] == 1
    assert options["grpc.max_receive_message_length"] == 8 << 20
    assert "grpc.keepalive_time_ms" not in dict(ClientConfig().channel_options())


def test_errors_by_status_code() -> None:
    assert type(error_for(grpc.StatusCode.NOT_FOUND, "no adapter x")) is NotFound
    exhausted = error_for(grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full", 0.25)
    assert isinstance(exhausted, ResourceExhausted) and exhausted.retry_after_s == 0.25
    odd = error_for(grpc.StatusCode.DATA_LOSS, "lost")
    assert type(odd) is HubError and odd.status == "DATA_LOSS" and str(odd) == "DATA_LOSS: lost"
    assert isinstance(odd, grpc.RpcError) and odd.code() is grpc.StatusCode.DATA_LOSS and odd.details() == "lost"
    streamed = error_for_number(3, "empty", 0)
    assert isinstance(streamed, InvalidArgument) and streamed.retry_after_s is None
    assert isinstance(error_for_number(14, "draining", 1500), Unavailable)
    assert error_for_number(8, "full", 1500).retry_after_s == 1.5
    assert (status_name(5), status_name(99)) == ("NOT_FOUND", "99")


def test_stream_answers_and_batching_helpers(tmp_path: Path) -> None:
    failed = stream_item(inference_pb2.PredictStreamResponse(request_id="r", error=inference_pb2.RequestError(
        code=5, message="no adapter")))  # fmt: skip
    assert failed.request_id == "r" and isinstance(failed.error, NotFound) and failed.predictions == []
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError):
        list(chunked([1], 0))
    source = tmp_path / "t.txt"
    source.write_text("a\n\n  \nb\r\nc")
    assert list(file_lines(source)) == [(1, "a"), (4, "b"), (5, "c")]


def test_stream_requests_carry_their_own_deadline() -> None:
    timed = stream_request(t.StreamRequest("r", "a@2", ["x"], "task", timeout_s=0.25))
    assert (timed.request_id, timed.request.adapter.version, timed.timeout_ms) == ("r", "2", 250)
    assert not stream_request(("r", "a", ["x"], None)).HasField("timeout_ms")
    refused = stream_item(inference_pb2.PredictStreamResponse(request_id="r", error=inference_pb2.RequestError(
        code=8, message="queue full", retry_after_ms=120)))  # fmt: skip
    assert isinstance(refused.error, ResourceExhausted) and refused.error.retry_after_s == 0.12


def test_the_request_id_is_read_from_the_trailers_where_a_proxy_sends_only_those() -> None:
    """A hub sends x-request-id in the initial metadata; Ray Serve's proxy (a cluster) sends
    trailing metadata only, and the replica puts it there."""
    from adapter_hub_client.calls import answered
    from adapter_hub_client.errors import from_rpc_error

    prediction = t.Prediction([], [], [], [], adapter="a", version="1", task="t", head_kind="sequence")
    trailers = (("x-ratelimit-remaining-requests", "9"), ("x-request-id", "r-trailing"))
    from_proxy = answered([prediction], (), trailers)
    assert from_proxy.request_id == "r-trailing" and from_proxy.ratelimit["x-ratelimit-remaining-requests"] == "9"
    from_hub = answered([prediction], (("x-request-id", "r-initial"),), trailers)
    assert from_hub.request_id == "r-initial"

    class Failed(grpc.RpcError):
        def code(self) -> grpc.StatusCode:
            return grpc.StatusCode.NOT_FOUND

        def details(self) -> str:
            return "adapter a not found"

        def initial_metadata(self) -> tuple[()]:
            return ()

        def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
            return (("x-request-id", "r-failed"),)

    error = from_rpc_error(Failed())
    assert isinstance(error, NotFound) and error.request_id == "r-failed"
