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
