from adapter_hub_client.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PredictStreamRequest(_message.Message):
    __slots__ = ("request_id", "request", "timeout_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    request: PredictRequest
    timeout_ms: int
    def __init__(self, request_id: _Optional[str] = ..., request: _Optional[_Union[PredictRequest, _Mapping]] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class RequestError(_message.Message):
    __slots__ = ("code", "message", "retry_after_ms")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    retry_after_ms: int
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., retry_after_ms: _Optional[int] = ...) -> None: ...

class PredictStreamResponse(_message.Message):
    __slots__ = ("request_id", "response", "error")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    response: PredictResponse
    error: RequestError
    def __init__(self, request_id: _Optional[str] = ..., response: _Optional[_Union[PredictResponse, _Mapping]] = ..., error: _Optional[_Union[RequestError, _Mapping]] = ...) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("adapter", "task", "texts")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    task: str
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, adapter: _Optional[_Union[_common_pb2.AdapterRef, _Mapping]] = ..., task: _Optional[str] = ..., texts: _Optional[_Iterable[str]] = ...) -> None: ...

class LabelScore(_message.Message):
    __slots__ = ("label", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("label", "start", "end", "text", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    start: int
    end: int
    text: str
    score: float
    def __init__(self, label: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., text: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("start", "end", "text", "labels", "entities", "predicted", "kind")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    text: str
    labels: _containers.RepeatedCompositeFieldContainer[LabelScore]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    predicted: _containers.RepeatedScalarFieldContainer[str]
    kind: str
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., text: _Optional[str] = ..., labels: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ..., entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., predicted: _Optional[_Iterable[str]] = ..., kind: _Optional[str] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("labels", "entities", "predicted", "segments")
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[LabelScore]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    predicted: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    def __init__(self, labels: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ..., entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., predicted: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("adapter", "version", "task", "head_kind", "predictions")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    HEAD_KIND_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    adapter: str
    version: str
    task: str
    head_kind: _common_pb2.HeadKind
    predictions: _containers.RepeatedCompositeFieldContainer[Prediction]
    def __init__(self, adapter: _Optional[str] = ..., version: _Optional[str] = ..., task: _Optional[str] = ..., head_kind: _Optional[_Union[_common_pb2.HeadKind, str]] = ..., predictions: _Optional[_Iterable[_Union[Prediction, _Mapping]]] = ...) -> None: ...

class FanOutTarget(_message.Message):
    __slots__ = ("adapter", "task")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    task: str
    def __init__(self, adapter: _Optional[_Union[_common_pb2.AdapterRef, _Mapping]] = ..., task: _Optional[str] = ...) -> None: ...

class FanOutRequest(_message.Message):
    __slots__ = ("text", "targets")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    text: str
    targets: _containers.RepeatedCompositeFieldContainer[FanOutTarget]
    def __init__(self, text: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[FanOutTarget, _Mapping]]] = ...) -> None: ...

class FanOutResult(_message.Message):
    __slots__ = ("adapter", "version", "task", "head_kind", "prediction")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    HEAD_KIND_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    adapter: str
    version: str
    task: str
    head_kind: _common_pb2.HeadKind
    prediction: Prediction
    def __init__(self, adapter: _Optional[str] = ..., version: _Optional[str] = ..., task: _Optional[str] = ..., head_kind: _Optional[_Union[_common_pb2.HeadKind, str]] = ..., prediction: _Optional[_Union[Prediction, _Mapping]] = ...) -> None: ...

class FanOutResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[FanOutResult]
    def __init__(self, results: _Optional[_Iterable[_Union[FanOutResult, _Mapping]]] = ...) -> None: ...
