"""What every call carries for a hub cluster on Ray Serve (a single server ignores it)."""

from __future__ import annotations

from adapter_hub_client import calls
from adapter_hub_client.config import ClientConfig


def test_calls_about_an_adapter_are_routed_by_its_name() -> None:
    assert calls.predict("sentiment@prod", ["hi"], None).route == "sentiment"
    assert calls.predict("sentiment", ["hi"], None).route == "sentiment"
    for action in ("load", "unload", "pin", "unpin"):
        assert calls.residency(action, "ner@3").route == "ner"
    assert calls.list_adapters().route == ""  # any replica answers
    assert calls.fan_out("hi", ["a", "b"]).route == ""  # several adapters: no one replica


def test_call_metadata_names_the_application_the_route_and_the_deadline() -> None:
    config = ClientConfig(api_key="k")
    metadata = dict(config.call_metadata("sentiment", 2.5))
    assert metadata == {
        "authorization": "Bearer k",
        "application": "adapter-hub",
        "multiplexed_model_id": "sentiment",
        "hub-deadline-ms": "2500",
    }
    assert "multiplexed_model_id" not in dict(config.call_metadata("", 1.0))
    assert dict(ClientConfig().call_metadata()) == {"application": "adapter-hub"}


def test_the_application_comes_from_the_environment() -> None:
    config = ClientConfig.from_env({"ADAPTER_HUB_APPLICATION": "hub-eu"})
    assert dict(config.call_metadata())["application"] == "hub-eu"
    assert ClientConfig(application="").call_metadata() == ()


def test_the_route_is_scoped_by_the_keys_public_id_never_its_secret() -> None:
    key = "ahk_0123456789abcdef_" + "s" * 43
    config = ClientConfig(api_key=key)
    assert config.route_key("sentiment") == "0123456789abcdef~sentiment"  # two tenants' "sentiment" apart
    assert config.route_key("medical:ner") == "medical:ner"  # a domain's adapter: shared by every tenant
    assert ClientConfig(api_key="operator-key").route_key("sentiment") == "sentiment"  # no tenant key
    routed = dict(config.call_metadata("sentiment"))["multiplexed_model_id"]
    assert "s" * 43 not in routed and routed.endswith("~sentiment")
