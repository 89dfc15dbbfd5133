import logging
from dataclasses import replace

import pytest

from hub.config.settings import Settings
from hub.errors import InvalidArgument
from hub.serving.app import build_authenticator, build_service


def settings(tmp_path, **kw) -> Settings:  # type: ignore[no-untyped-def]
    return Settings.from_env(environ={}, **{"store": str(tmp_path), **kw})


def test_embedded_default_runs_without_auth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = settings(tmp_path)
    assert not build_authenticator(s, build_service(s)).enabled


@pytest.mark.parametrize("overrides", [{"host": "0.0.0.0", "insecure": True}, {"store": "memory://shared"}])
def test_auth_is_on_beyond_the_embedded_default(tmp_path, overrides) -> None:  # type: ignore[no-untyped-def]
    s = settings(tmp_path, **overrides)
    with pytest.raises(InvalidArgument, match="ADAPTER_HUB_ADMIN_KEY"):
        build_authenticator(s, build_service(s))
    s = replace(s, admin_key="k")
    assert build_authenticator(s, build_service(s)).enabled
    s = replace(s, auth="off")
    with pytest.raises(InvalidArgument, match="only for the embedded default"):
        build_authenticator(s, build_service(s))


def test_an_admin_key_turns_auth_on_even_in_the_embedded_default(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    s = settings(tmp_path, admin_key="k")
    with caplog.at_level(logging.INFO, logger="hub.serving"):
        assert build_authenticator(s, build_service(s)).enabled
    assert [r.levelname for r in caplog.records if r.getMessage().startswith("auth on")] == ["INFO"]


def test_auth_off_with_an_admin_key_is_refused_saying_why(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = settings(tmp_path, admin_key="k", auth="off")
    with pytest.raises(InvalidArgument, match="would protect nothing"):
        build_authenticator(s, build_service(s))


def test_auth_off_is_logged_in_one_warning_line(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    s = settings(tmp_path)
    with caplog.at_level(logging.INFO, logger="hub.serving"):
        build_authenticator(s, build_service(s))
    lines = [r for r in caplog.records if "auth" in r.getMessage()]
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in lines] == [("WARNING", "auth off")]
    assert "\n" not in lines[0].getMessage()
