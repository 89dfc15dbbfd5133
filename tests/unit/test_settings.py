"""The settings table: documented in the README, one serve flag each, every value checked at
start-up (all problems at once), and defaults < environment < flags."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from hub.cli.main import build_parser, main
from hub.cli.serve import settings_from_args
from hub.config.settings import Settings, SettingsError
from hub.config.settings_schema import default_text, env_name, flag_name, settings_fields
from hub.serving.stores import disk_cache_dir

README = Path(__file__).resolve().parents[2] / "README.md"
FIELDS = list(settings_fields(Settings))


def configuration_rows() -> dict[str, str]:
    """README's configuration section: each table row by the environment variable it names."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(ADAPTER_HUB_[A-Z0-9_]+)` \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def serve_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["serve"]  # type: ignore[no-any-return]


def serve_args(*argv: str) -> argparse.Namespace:
    return serve_parser().parse_args(list(argv))


@pytest.mark.parametrize(("f", "spec"), FIELDS, ids=[f.name for f, _ in FIELDS])
def test_every_setting_is_documented_in_the_readme(f, spec) -> None:  # type: ignore[no-untyped-def]
    row = configuration_rows().get(env_name(f.name))
    assert row is not None, f"README.md's configuration tables lack {env_name(f.name)}"
    assert f"`{flag_name(f.name)}`" in row
    shown = default_text(f, spec)
    assert (f"`{shown}`" if shown != "empty" else "(empty)") in row, f"default {shown!r} missing: {row}"


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    known = {env_name(f.name) for f, _ in FIELDS}
    assert set(configuration_rows()) <= known


@pytest.mark.parametrize(("f", "spec"), FIELDS, ids=[f.name for f, _ in FIELDS])
def test_every_setting_has_a_serve_flag_naming_its_variable(f, spec) -> None:  # type: ignore[no-untyped-def]
    actions = {a.dest: a for a in serve_parser()._actions}
    action = actions[f.name]
    assert flag_name(f.name) in action.option_strings
    assert action.help is not None and env_name(f.name) in action.help and "default" in action.help
    assert action.default is None  # not given: the environment (or the default) decides
    if spec.secret:
        assert "environment" in action.help


def test_flags_beat_the_environment_which_beats_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADAPTER_HUB_MAX_BATCH_SIZE", "8")
    monkeypatch.setenv("ADAPTER_HUB_MAX_WORKERS", "40")
    monkeypatch.setenv("ADAPTER_HUB_S3_CREATE_BUCKET", "true")
    settings = settings_from_args(serve_args("--max-batch-size", "4", "--no-s3-create-bucket", "--store", "memory://x"))
    assert settings.max_batch_size == 4  # flag
    assert settings.max_workers == 40  # environment
    assert settings.s3_create_bucket is False  # the flag turned the environment's true off
    assert settings.max_batch_wait_ms == 2.0  # default
    assert settings_from_args(serve_args("--store", "memory://x")).s3_create_bucket is True


def test_overrides_in_code_beat_the_environment_and_none_means_not_given() -> None:
    env = {"ADAPTER_HUB_PORT": "6000", "ADAPTER_HUB_ALIAS_TTL_S": "1.5", "ADAPTER_HUB_AUTH": "ON"}
    s = Settings.from_env(env, port=7000, host=None, alias_ttl_s=3, disk_cache_dir=Path("/tmp/c"))
    assert (s.port, s.host, s.alias_ttl_s, s.auth) == (7000, "127.0.0.1", 3.0, "on")
    assert s.disk_cache_dir == "/tmp/c"


def test_empty_store_means_the_per_user_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings.from_env({}).store == str(tmp_path / "adapter-hub" / "store")
    assert Settings.from_env({"ADAPTER_HUB_STORE": ""}).store == str(tmp_path / "adapter-hub" / "store")


def test_every_problem_is_reported_at_once_naming_variable_and_flag() -> None:
    env = {"ADAPTER_HUB_AUTH": "maybe", "ADAPTER_HUB_PORT": "many", "ADAPTER_HUB_S3_CREATE_BUCKET": "perhaps"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env, quantize="int4", max_batch_size=0, store="ftp://host/dir", colour="blue")
    problems = caught.value.problems
    assert len(problems) == 7, problems
    for name in ("auth", "port", "s3_create_bucket", "quantize", "max_batch_size", "store"):
        assert any(p.startswith(f"{env_name(name)} ({flag_name(name)}) ") for p in problems), name
    assert "unknown setting 'colour'" in problems
    assert "7 problem(s)" in caught.value.message


@pytest.mark.parametrize(
    ("name", "bad", "good"),
    [
        ("auth", "maybe", "off"),
        ("quantize", "int4", "int8"),
        ("dtype", "float64", "bfloat16"),
        ("device", "gpu", "cuda:1"),
        ("device", "cuda:x", "CPU"),
        ("s3_addressing_style", "sideways", "virtual"),
        ("port", "65536", "0"),
        ("port", "-1", "65535"),
        ("max_batch_size", "0", "1"),
        ("max_batch_wait_ms", "-0.5", "0"),
        ("store_timeout_s", "0", "0.5"),
        ("store_timeout_s", "nan", "30"),
        ("store_retries", "-1", "0"),
        ("device_cache_bytes", "0", "2000"),
        ("tenant_pin_bytes", "-1", "0"),
        ("max_workers", "2.5", "4"),
        ("store", "s3://Not_A_Bucket", "s3://bucket/a/prefix"),
        ("store", "s3:/bucket", "file:///abs/dir"),
        ("store", "file://elsewhere/dir", "relative/dir"),
        ("pin", "acme", "acme/a@1, acme/b"),
        ("s3_endpoint_url", "127.0.0.1:8333", "http://127.0.0.1:8333"),
        ("backbone", " ", "packaged:all-minilm-l6-v2"),
    ],
)
def test_each_value_is_checked(name: str, bad: str, good: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"{env_name(name)} ({flag_name(name)})")):
        Settings.from_env({env_name(name): bad}, store="memory://x" if name != "store" else None)
    Settings.from_env({env_name(name): good}, store="memory://x" if name != "store" else None)


def test_checks_that_involve_two_settings() -> None:
    with pytest.raises(SettingsError, match="int8 runs on CPU with dtype float32 only"):
        Settings.from_env({}, quantize="int8", dtype="float16")
    with pytest.raises(SettingsError, match="int8 runs on CPU"):
        Settings.from_env({}, quantize="int8", device="cuda:0")
    assert Settings.from_env({}, quantize="int8", device="cpu").quantize == "int8"


def test_settings_are_frozen_and_replace_checks_again() -> None:
    s = Settings.from_env({}, store="memory://x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]
    assert dataclasses.replace(s, port=1).port == 1
    with pytest.raises(SettingsError, match="ADAPTER_HUB_PORT"):
        dataclasses.replace(s, port=70000)
    with pytest.raises(SettingsError, match="must be int, not str"):
        dataclasses.replace(s, port="1")  # type: ignore[arg-type]


def test_serve_reports_invalid_settings_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADAPTER_HUB_QUANTIZE", "int4")
    assert main(["serve", "--port", "70000", "--store", "ftp://host/x", "--log-level", "warning"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid settings (3 problem(s)):")
    assert "ADAPTER_HUB_PORT (--port) must be between 0 and 65535, got 70000" in err
    assert "ADAPTER_HUB_QUANTIZE (--quantize)" in err and "ADAPTER_HUB_STORE (--store)" in err
    assert "Traceback" not in err


def test_the_disk_tier_defaults_on_for_a_remote_store_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert disk_cache_dir(Settings.from_env({}, store="s3://bucket/p")) == tmp_path / "adapter-hub"
    assert disk_cache_dir(Settings.from_env({}, store="memory://x")) is None
    assert disk_cache_dir(Settings.from_env({}, store=str(tmp_path / "s"))) is None
    assert disk_cache_dir(Settings.from_env({}, store="s3://bucket", disk_cache_dir="OFF")) is None
