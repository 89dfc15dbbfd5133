"""DOMAIN:NAME references in the client library: fan-out targets, refs, the domain calls."""

from __future__ import annotations

from adapter_hub_client.calls import fan_out, grant_domain, list_adapters, parse_ref, revoke_domain, split_target


def test_fan_out_targets_tell_a_domain_from_a_task() -> None:
    assert split_target("medical:ncbi-disease") == ("medical:ncbi-disease", "")
    assert split_target("medical:ncbi-disease@3") == ("medical:ncbi-disease@3", "")
    assert split_target("medical:ncbi-disease@3:medical.ner") == ("medical:ncbi-disease@3", "medical.ner")
    assert split_target("medical:ncbi-disease:medical.ner") == ("medical:ncbi-disease", "medical.ner")
    assert split_target("mine:generic.sequence_classification") == ("mine", "generic.sequence_classification")
    assert split_target("mine@2:t") == ("mine@2", "t")
    targets = fan_out("x", ["medical:ncbi@3:medical.ner", "mine"]).request.targets
    assert [(t.adapter.name, t.adapter.version, t.task) for t in targets] == [
        ("medical:ncbi", "3", "medical.ner"),
        ("mine", "", ""),
    ]
    assert (parse_ref("legal:tos@prod").name, parse_ref("legal:tos@prod").version) == ("legal:tos", "prod")


def test_domain_calls() -> None:
    assert list_adapters("medical").request.domain == "medical"
    assert list_adapters().request.domain == ""
    one, everyone = grant_domain("medical", "acme").request, revoke_domain("medical").request
    assert (one.domain, one.tenant, one.all) == ("medical", "acme", False)
    assert (everyone.tenant, everyone.all) == ("", True)
    assert (grant_domain("medical", "acme").service, grant_domain("medical", "acme").method) == (
        "domains",
        "GrantDomain",
    )
