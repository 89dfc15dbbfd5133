from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HeadKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEAD_KIND_UNSPECIFIED: _ClassVar[HeadKind]
    HEAD_KIND_SEQUENCE: _ClassVar[HeadKind]
    HEAD_KIND_MULTI_LABEL: _ClassVar[HeadKind]
    HEAD_KIND_TOKEN: _ClassVar[HeadKind]
HEAD_KIND_UNSPECIFIED: HeadKind
HEAD_KIND_SEQUENCE: HeadKind
HEAD_KIND_MULTI_LABEL: HeadKind
HEAD_KIND_TOKEN: HeadKind

class AdapterRef(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class TaskHead(_message.Message):
    __slots__ = ("task", "head_kind", "labels", "threshold")
    TASK_FIELD_NUMBER: _ClassVar[int]
    HEAD_KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    task: str
    head_kind: HeadKind
    labels: _containers.RepeatedScalarFieldContainer[str]
    threshold: float
    def __init__(self, task: _Optional[str] = ..., head_kind: _Optional[_Union[HeadKind, str]] = ..., labels: _Optional[_Iterable[str]] = ..., threshold: _Optional[float] = ...) -> None: ...
