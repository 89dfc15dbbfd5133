"""hub/transport/convert.py: domain values become the right messages, field for field."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from adapters_registry.manifest import HeadKind
from hub.api.v1 import admin_pb2, common_pb2, inference_pb2
from hub.config.settings import Settings
from hub.errors import InvalidArgument
from hub.residency.breaker import BreakerState
from hub.residency.residency import ResidencyStatus, Resident
from hub.residency.tier import TierStats
from hub.serving.info import Limits, ServerInfo, describe_server, public_uri
from hub.serving.service import Target
from hub.tasks.results import EntitySpan, LabelScore, Prediction, SegmentPrediction
from hub.transport import convert


def test_every_head_kind_has_its_wire_value() -> None:
    assert set(convert.HEAD_KINDS) == set(HeadKind)
    assert len(set(convert.HEAD_KINDS.values())) == len(HeadKind)
    assert common_pb2.HEAD_KIND_UNSPECIFIED not in convert.HEAD_KINDS.values()


def test_a_message_field_the_value_lacks_fails_loudly() -> None:
    @dataclass
    class HalfLabel:
        label: str

    with pytest.raises(AttributeError, match="score"):
        convert._message(inference_pb2.LabelScore, HalfLabel("x"))
    assert convert._message(inference_pb2.LabelScore, HalfLabel("x"), score=0.5).score == 0.5


def test_a_prediction_keeps_its_segments_labels_and_entities() -> None:
    span = EntitySpan("DISEASE", 4, 9, "fever", 0.75)
    segment = SegmentPrediction(0, 9, "has fever", [LabelScore("a", 0.5)], [span], ["a"])
    message = convert.prediction(Prediction([LabelScore("a", 0.5)], [span], ["a"], [segment]))
    assert [(x.label, x.score) for x in message.labels] == [("a", 0.5)]
    assert [(e.label, e.start, e.end, e.text, e.score) for e in message.entities] == [("DISEASE", 4, 9, "fever", 0.75)]
    assert list(message.predicted) == ["a"]
    (s,) = message.segments
    assert (s.start, s.end, s.text, list(s.predicted)) == (0, 9, "has fever", ["a"])
    assert [e.text for e in s.entities] == ["fever"] and [x.label for x in s.labels] == ["a"]


def test_residency_status_renames_budget_and_breaker_and_versions_become_text() -> None:
    tier = TierStats("device", 1, 100, 1000, 1, 100, 3, 2, 0, 2, 1.5, 2.5)
    resident = Resident("acme", "sent", 2, ("device",), True, 100, 300)
    breaker = BreakerState("open", 3, 1.25, 7, 4, "timeout")
    message = convert.residency_status(ResidencyStatus([tier], breaker, [resident], 1, 5.0, 6))
    (t,) = message.tiers
    assert (t.name, t.count, t.bytes, t.budget_bytes, t.pinned, t.pinned_bytes) == ("device", 1, 100, 1000, 1, 100)
    assert (t.hits, t.misses, t.evictions, t.loads, t.load_p50_ms, t.load_p99_ms) == (3, 2, 0, 2, 1.5, 2.5)
    s = message.store
    assert (s.breaker, s.consecutive_failures, s.retry_in_s, s.failures, s.rejected, s.last_error) == (
        "open",
        3,
        1.25,
        7,
        4,
        "timeout",
    )
    (a,) = message.adapters
    assert (a.name, a.version, list(a.tiers), a.pinned, a.device_bytes, a.file_bytes) == (
        "sent",
        "2",
        ["device"],
        True,
        100,
        300,
    )
    assert (message.draining, message.alias_ttl_s, message.stale_served) == (1, 5.0, 6)
    no_store = convert.residency_status(ResidencyStatus([tier], None, [], 0, 5.0, 0))
    assert not no_store.HasField("store")


def test_a_request_without_an_adapter_name_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match=r"adapter\.name"):
        convert.target(common_pb2.AdapterRef(version="2"))
    assert convert.target(common_pb2.AdapterRef(name="sent", version="prod"), "t") == Target("sent", "prod", "t")


DESCRIBED = {
    "backbone_name": "tiny",
    "fingerprint": "f" * 8,
    "device": "cpu",
    "dtype": "float32",
    "parameters": 1234,
    "hidden_size": 32,
    "torch": "2",
    "transformers": "5",
    "peft": "0.1",
    "python": "3.11",
    "quantize": "none",
}


def test_server_info_carries_settings_limits_and_versions_and_the_transport_adds_its_own() -> None:
    settings = Settings.from_env(environ={}, max_texts_per_request=7, max_upload_bytes=999)
    info = describe_server(DESCRIBED, settings, "memory://hub")
    assert isinstance(info, ServerInfo) and info.limits == Limits.of(settings)
    message = convert.server_info(info, auth_enabled=True)
    assert isinstance(message, admin_pb2.ServerInfoResponse)
    assert (message.backbone_name, message.backbone_fingerprint, message.backbone_parameters) == (
        "tiny",
        "ffffffff",
        1234,
    )
    assert (message.limits.max_texts_per_request, message.limits.max_upload_bytes) == (7, 999)
    assert message.limits.max_text_chars == settings.max_text_chars
    assert {"torch", "transformers", "peft", "python", "hub", "grpcio"} == set(message.versions)
    assert (message.store, message.auth_enabled) == ("memory://hub", True)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("s3://KEY:SECRET@bucket/prefix", "s3://bucket/prefix"),
        ("s3://bucket/prefix?token=SECRET#x", "s3://bucket/prefix"),
        ("file:///srv/adapters", "file:///srv/adapters"),
        ("memory://", "memory://"),
        ("/plain/path", "/plain/path"),
    ],
)
def test_a_store_uri_is_shown_without_credentials(uri: str, shown: str) -> None:
    assert public_uri(uri) == shown
    assert describe_server(DESCRIBED, Settings.from_env(environ={}), uri).store == shown
