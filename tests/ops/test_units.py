"""The operations pieces on their own: latency histograms, refusal reasons, monotonic folding,
request ids and records, TLS options, connection options."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapter_hub_client import ClientConfig

from hub.config.settings import Settings
from hub.errors import NotFound, PermissionDenied, ResourceExhausted, Unauthenticated
from hub.observe import request_log as rl
from hub.observe.collectors import Accumulated, refusal_label
from hub.residency.tier import LatencyWindow, TierFull
from hub.transport.tls import server_options


def test_latency_window_keeps_a_cumulative_histogram_of_every_sample() -> None:
    window = LatencyWindow(size=2, bounds=(0.01, 0.1, 1.0))
    for seconds in (0.005, 0.05, 0.05, 0.5, 5.0):
        window.add(seconds)
    h = window.histogram()
    assert h.buckets == ((0.01, 1), (0.1, 3), (1.0, 4))  # the 5 s sample is only in +Inf
    assert h.count == 5 and h.sum_s == pytest.approx(5.605)
    assert window.recent(10) == [0.5, 5.0]  # the p50/p99 window stays bounded


def test_refusal_reasons() -> None:
    assert rl.refusal_reason(Unauthenticated("no key")) == rl.AUTH
    assert rl.refusal_reason(PermissionDenied("operator only")) == rl.AUTH
    assert rl.refusal_reason(ResourceExhausted("quota")) == rl.QUOTA
    assert rl.refusal_reason(TierFull("too big")) == rl.CAPACITY
    assert rl.refusal_reason(NotFound("nope")) == ""
    assert rl.refusal_reason(RuntimeError("bug")) == ""
    assert [refusal_label(r) for r in ("rate_tokens_per_s", "tenant_queued_requests", "total_queued_tokens")] == [
        "rate",
        "queue",
        "queue",
    ]
    assert [refusal_label(r) for r in ("deadline", "expired", "cancelled", "draining")] == [
        "deadline",
        "deadline",
        "cancelled",
        "draining",
    ]


def test_accumulated_totals_never_drop() -> None:
    sums = Accumulated()
    assert sums.update([("a", "x", 5), ("b", "x", 2)]) == {"x": 7}
    assert sums.update([("a", "x", 6)]) == {"x": 8}  # b forgotten by the source: its 2 stay counted
    assert sums.update([("a", "x", 1)]) == {"x": 9}  # a restarted at 0 and counted 1 since


def test_request_ids_and_record_fields() -> None:
    assert rl.request_id("abc-123") == "abc-123"
    assert rl.safe_id("item-7") == "item-7" and rl.safe_id("") == "-"
    assert rl.safe_id("x\ninjected=1").startswith("~") and "\n" not in rl.safe_id("x\ninjected=1")
    generated = rl.request_id("bad id with spaces\n")
    assert generated != "bad id with spaces\n" and len(generated) == 16
    record = rl.RequestRecord("r", "FanOut", tenant="acme", targets=["a@1", "b@2"], tasks=["t", "t"], texts=1)
    fields = record.fields()
    assert fields["adapter"] == ["a@1", "b@2"] and fields["task"] == "t" and "refused" not in fields
    call = rl.RequestRecord("c", "PredictStream")
    item = rl.RequestRecord("c/1", "PredictStream", tenant="acme", texts=2, tokens=9, parent=call)
    item.add_to_call()
    assert (call.requests, call.texts, call.tokens, call.tenant) == (1, 2, 9, "acme")
    rl.note_target("x", 1, "t")  # no current request: nothing happens
    with rl.recording(rl.RequestRecord("n", "Predict")) as current:
        rl.note_target("x", 3, "t")
        rl.note_error(Unauthenticated("no"))
    assert current.targets == ["x@3"] and current.refusal == rl.AUTH and rl.current() is None


def test_client_tls_options(tmp_path: Path) -> None:
    assert not ClientConfig.from_env({}).tls
    with pytest.raises(ValueError, match="needs its key"):
        ClientConfig.from_env({}, tls_ca="ca.pem", tls_cert="me.crt")
    tls = ClientConfig.from_env({}, tls_ca=str(tmp_path / "missing.pem"), tls_server_name="hub.internal")
    assert tls.tls and ("grpc.ssl_target_name_override", "hub.internal") in tls.channel_options()
    with pytest.raises(ValueError, match="cannot read the CA bundle"):
        tls.credentials()


def test_connection_settings_become_grpc_options(tmp_path: Path) -> None:
    settings = Settings.from_env(environ={}, store=str(tmp_path), max_connection_age_s=300, max_concurrent_streams=64)
    options = dict(server_options(settings))
    assert options["grpc.keepalive_time_ms"] == 60_000 and options["grpc.keepalive_timeout_ms"] == 20_000
    assert options["grpc.http2.min_ping_interval_without_data_ms"] == 10_000
    assert options["grpc.max_connection_age_ms"] == 300_000 and options["grpc.max_connection_age_grace_ms"] == 30_000
    assert options["grpc.max_concurrent_streams"] == 64
    defaults = dict(server_options(Settings.from_env(environ={}, store=str(tmp_path))))
    assert "grpc.max_connection_age_ms" not in defaults and "grpc.max_concurrent_streams" not in defaults


def test_native_stderr_lines_become_records() -> None:
    from hub.observe.logs import native_record

    level, fields, message = native_record(
        "E1207 20:53:49.008123   4242 ssl_transport_security.cc:1665] Handshake failed with error SSL_ERROR_SSL"
    )
    assert (level, fields["source"], message) == (
        40,
        "ssl_transport_security.cc:1665",
        "Handshake failed with error SSL_ERROR_SSL",
    )
    assert native_record("Traceback (most recent call last):") == (30, {}, "Traceback (most recent call last):")


def test_config_file_is_the_lowest_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.cli.main import build_parser
    from hub.cli.serve import settings_from_args
    from hub.config.settings import Settings, SettingsError
    from hub.config.settings_file import read_settings_file

    config = tmp_path / "hub.toml"
    config.write_text('max_batch_size = 8\nstore = "memory://f"\n[observe]\nmetrics_port = 9100\nlog_format = "json"\n')
    monkeypatch.setenv("ADAPTER_HUB_METRICS_PORT", "9200")
    settings = settings_from_args(
        build_parser().parse_args(["serve", "--config", str(config), "--max-batch-size", "4"])
    )
    assert settings.max_batch_size == 4  # the flag beats the file
    assert settings.metrics_port == 9200  # the environment beats the file
    assert settings.log_format == "json" and settings.store == "memory://f"  # the file beats the defaults

    with pytest.raises(SettingsError, match="max_batch_size in the config file must be an integer"):
        Settings.from_env({}, file={"max_batch_size": "many"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[observe]\nmetrics_port = [1]\n")
    with pytest.raises(SettingsError, match=r"'observe\.metrics_port' must be a single value"):
        read_settings_file(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        read_settings_file(broken)
    with pytest.raises(SettingsError, match="cannot be read"):
        read_settings_file(tmp_path / "missing.toml")
