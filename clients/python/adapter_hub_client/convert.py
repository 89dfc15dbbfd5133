"""Messages to the dataclasses of ``types`` and back: the only place that reads protobuf.

A mirrored class is filled field by field from the message's descriptor (``MIRRORS`` names
the class for each message), so the conversion cannot drift from the class: the tests check
every mirror has exactly its message's fields.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, TypeVar

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from adapter_hub_client import types as t
from adapter_hub_client.api.v1 import inference_pb2

T = TypeVar("T")

MIRRORS: dict[str, type] = {
    "hub.api.v1.LabelScore": t.LabelScore,
    "hub.api.v1.Entity": t.Entity,
    "hub.api.v1.Segment": t.Segment,
    "hub.api.v1.TaskHead": t.TaskHead,
    "hub.api.v1.FileInfo": t.FileInfo,
    "hub.api.v1.AdapterVersionInfo": t.AdapterVersion,
    "hub.api.v1.AdapterSummary": t.Adapter,
    "hub.api.v1.SetAliasResponse": t.AliasChange,
    "hub.api.v1.Limits": t.Limits,
    "hub.api.v1.ServerInfoResponse": t.ServerInfo,
    "hub.api.v1.TaskInfo": t.TaskInfo,
    "hub.api.v1.PluginInfo": t.PluginInfo,
    "hub.api.v1.ListPluginsResponse": t.Plugins,
    "hub.api.v1.ResidentAdapter": t.ResidentAdapter,
    "hub.api.v1.ResidencyResponse": t.ResidencyChange,
    "hub.api.v1.TierStatus": t.TierStatus,
    "hub.api.v1.StoreHealth": t.StoreHealth,
    "hub.api.v1.ResidencyStatusResponse": t.ResidencyStatus,
    "hub.api.v1.Quota": t.Quota,
    "hub.api.v1.CreateTenantResponse": t.NewTenantKey,
    "hub.api.v1.TenantInfo": t.TenantInfo,
    "hub.api.v1.RevokeTenantResponse": t.RevokedTenant,
    "hub.api.v1.TenantQueue": t.TenantQueue,
    "hub.api.v1.QueueStatusResponse": t.QueueStatus,
    "hub.api.v1.CollectGarbageResponse": t.GarbageCollection,
    "hub.api.v1.StoreDamage": t.StoreDamage,
    "hub.api.v1.VerifyStoreResponse": t.StoreVerification,
    "hub.api.v1.DomainAccess": t.DomainAccess,
    "hub.api.v1.DomainAdapterUsers": t.DomainAdapterUsers,
    "hub.api.v1.DomainInfo": t.DomainInfo,
}


def enum_name(enum: EnumDescriptor, number: int) -> str:
    """An enum value as a lower-case name without the enum's prefix: HEAD_KIND_TOKEN -> token."""
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    return value.name.removeprefix(prefix).lower()


def _value(field: FieldDescriptor, value: Any) -> Any:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        return dict(value)
    if message is not None:
        cls = MIRRORS[message.full_name]
        return [mirror(cls, v) for v in value] if field.is_repeated else mirror(cls, value)
    if field.enum_type is not None:
        names = [enum_name(field.enum_type, v) for v in value] if field.is_repeated else None
        return names if names is not None else enum_name(field.enum_type, value)
    return list(value) if field.is_repeated else value


def mirror(cls: type[T], message: Message) -> T:
    """``cls`` filled from the message fields of the same names."""
    by_name = message.DESCRIPTOR.fields_by_name
    return cls(**{f.name: _value(by_name[f.name], getattr(message, f.name)) for f in fields(cls)})  # type: ignore[arg-type]


def prediction(p: inference_pb2.Prediction, served: Any) -> t.Prediction:
    """One text's answer; ``served`` is the PredictResponse or FanOutResult it came in."""
    by_name = p.DESCRIPTOR.fields_by_name
    parts = {name: _value(by_name[name], getattr(p, name)) for name in ("labels", "entities", "predicted", "segments")}
    kind = enum_name(served.DESCRIPTOR.fields_by_name["head_kind"].enum_type, served.head_kind)
    return t.Prediction(**parts, adapter=served.adapter, version=served.version, task=served.task, head_kind=kind)


def predictions(response: inference_pb2.PredictResponse) -> list[t.Prediction]:
    return [prediction(p, response) for p in response.predictions]


def fan_out(response: inference_pb2.FanOutResponse) -> list[t.Prediction]:
    return [prediction(r.prediction, r) for r in response.results]
