"""Every RPC's requests, generated from the protos (tests/fuzz/messages.py), sent to a real hub
with auth on: no call may answer INTERNAL, UNKNOWN or DATA_LOSS or take over 5 s, and afterwards
the hub is healthy and the victim tenant sees the same adapters and the same answers.

CI runs the derandomized ``ci`` profile; the long run is
``ADAPTER_HUB_FUZZ_PROFILE=long .venv/bin/python -m pytest tests/fuzz -s`` (README, Security)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import FuzzHub
from tests.fuzz.messages import METHODS, requests

pytestmark = pytest.mark.integration
# mostly the attacker's valid key, so that most requests get past authentication
KEYS = st.sampled_from(["attacker", "attacker", "attacker", "admin", "none", "victim-shaped", "malformed"])
REQUEST_IDS = st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200))


@pytest.mark.parametrize("name", sorted(METHODS))
@given(data=st.data())
def test_no_request_gets_an_internal_error(fuzz_hub: FuzzHub, name: str, data: st.DataObject) -> None:
    method = METHODS[name]
    request = data.draw(requests(method), label="request")
    key = fuzz_hub.keys[data.draw(KEYS, label="key")]
    metadata = [("authorization", f"Bearer {key}")] if key is not None else []
    request_id = data.draw(REQUEST_IDS, label="x-request-id")
    if request_id is not None:
        metadata.append(("x-request-id", request_id))
    fuzz_hub.invoke(method, request, metadata)


def test_the_strategies_reach_every_rpc() -> None:
    from hub.transport.server import SERVICES as SERVED  # every service the server registers

    served = {f"{s.name}/{m.name}" for s in SERVED for m in s.methods}
    assert set(METHODS) == served and len(served) >= 27


def test_afterwards_the_hub_serves_and_the_victim_sees_what_it_saw(fuzz_hub: FuzzHub) -> None:
    fuzz_hub.check_victim()
