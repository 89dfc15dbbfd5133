"""Hypothesis strategies for every RPC's request messages, generated from the protos' descriptors.

Strings mix what the hub's names look like with what a hostile caller sends (control characters,
Unicode digits and look-alikes, path pieces, reserved names, 100 KB names); numbers reach their
type's extremes, NaN and infinities; repeated fields come near empty or at the server's limits;
any field may be missing. No example depends on the server's state: the same seed gives the same
requests (the CI profile is derandomized).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from hub.api.v1 import adapters_pb2, admin_pb2, domains_pb2, inference_pb2, residency_pb2, tenants_pb2

SERVICES: list[ServiceDescriptor] = [
    service
    for module in (inference_pb2, adapters_pb2, admin_pb2, tenants_pb2, residency_pb2, domains_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
]
METHODS: dict[str, MethodDescriptor] = {f"{s.name}/{m.name}": m for s in SERVICES for m in s.methods}
BAD_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS}

# Names that mean something to this hub (the attacker's own adapter is "sentiment"), next to the
# spellings issue 22 found or that a stranger would try. The victim's names are left out on
# purpose: the operator's key may revoke a tenant, and that is no bug.
SPECIAL_STRINGS = [
    "", "sentiment", "1", "2", "latest", "prod", "0", "00000001", "99999999", "999999999999",
    "-1", "1.5", "\u00b2", "\u0661", "\uff11", "1\n", "prod\n", "latest\n", "sentiment\n", " sentiment",
    "sentiment ", "SENTIMENT", "sent\u0131ment", "../sentiment", "a/b", "%2F", "a\x00b", "\u202eevil",
    "admin", "other", "local", "acme", "ahk_!!!!!!!!!!!!!!!!_x", "ahk_../tenants/victi_x",
    "generic.sequence_classification", "generic.token_classification", "medical.ner", "no.such_task",
    "a" * 63, "a" * 64, "x" * 100_000, "\U0001f600", "e\u0301",
    "medical", "generic", "medical:sentiment", "generic:sentiment", "attacker:sentiment", "medical:", ":x",
]  # fmt: skip
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_CONTROL = st.text(st.sampled_from("\x00\x01\n\r\t\x1b\x7f\u0085\u2028\u200b\ufeffab1."), max_size=12)
STRINGS = st.one_of(st.sampled_from(SPECIAL_STRINGS), _TEXT, _CONTROL)
# Repeated fields the server bounds: examples sit just under and just over the bound.
REPEATED_LIMITS = {"texts": 256, "targets": 32, "labels": 1024}

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    extremes = sorted({v for v in (low, high, 0, 1, -1, 2, 255, 256, 1 << 20) if low <= v <= high})
    return st.one_of(st.sampled_from(extremes), st.integers(low, high))


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return STRINGS
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), _integers(-(2**31), 2**31 - 1))
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        width = 32 if kind == FieldDescriptor.TYPE_FLOAT else 64
        return st.floats(width=width, allow_nan=True, allow_infinity=True)
    if kind in _INT_RANGES:
        return _integers(*_INT_RANGES[kind])
    raise AssertionError(f"no strategy for {field.full_name} (type {kind})")


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1)
    return _scalar(field)


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if _is_map(field):
        key, value = (field.message_type.fields_by_name[n] for n in ("key", "value"))
        return st.dictionaries(_value(key, depth), _value(value, depth), max_size=3)
    if not field.is_repeated:
        return _value(field, depth)
    element = _value(field, depth)
    few = st.lists(element, max_size=3)
    limit = REPEATED_LIMITS.get(field.name)
    if limit is None:
        return few
    at_limit = st.builds(lambda n, x: [x] * n, st.sampled_from([limit, limit + 1]), element)
    return st.one_of(few, at_limit)


@st.composite
def _message(draw: Callable[..., Any], descriptor: Descriptor, depth: int) -> Message:
    cls = message_class(descriptor)
    values = {}
    for field in descriptor.fields:
        if depth > 3 and field.type == FieldDescriptor.TYPE_MESSAGE:
            continue  # deep enough: nested messages stay unset
        if draw(st.booleans()):  # any field may be missing
            values[field.name] = draw(_field(field, depth))
    message = cls()
    for name, value in values.items():  # one by one: of a oneof's fields, the last given wins
        try:
            message.MergeFrom(cls(**{name: value}))
        except (ValueError, TypeError):  # a value the field's type cannot hold (e.g. an unknown enum in a map)
            continue
    return message


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    return _message(descriptor, depth)


def requests(method: MethodDescriptor) -> st.SearchStrategy[Any]:
    """One request message, or for a client-streaming RPC a list of 0-4 of them."""
    single = messages(method.input_type)
    return st.lists(single, max_size=4) if method.client_streaming else single
