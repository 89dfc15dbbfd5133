from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf.internal import containers as _containers

from adapter_hub_client.api.v1 import common_pb2 as _common_pb2

DESCRIPTOR: _descriptor.FileDescriptor

class PredictStreamRequest(_message.Message):
    __slots__ = ("request", "request_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    request: PredictRequest
    def __init__(self, request_id: str | None = ..., request: PredictRequest | _Mapping | None = ...) -> None: ...

class RequestError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: int | None = ..., message: str | None = ...) -> None: ...

class PredictStreamResponse(_message.Message):
    __slots__ = ("error", "request_id", "response")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    response: PredictResponse
    error: RequestError
    def __init__(
        self,
        request_id: str | None = ...,
        response: PredictResponse | _Mapping | None = ...,
        error: RequestError | _Mapping | None = ...,
    ) -> None: ...

class PredictRequest(_message.Message):
    __slots__ = ("adapter", "task", "texts")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    task: str
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(
        self,
        adapter: _common_pb2.AdapterRef | _Mapping | None = ...,
        task: str | None = ...,
        texts: _Iterable[str] | None = ...,
    ) -> None: ...

class LabelScore(_message.Message):
    __slots__ = ("label", "score")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    def __init__(self, label: str | None = ..., score: float | None = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("end", "label", "score", "start", "text")
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
    def __init__(
        self,
        label: str | None = ...,
        start: int | None = ...,
        end: int | None = ...,
        text: str | None = ...,
        score: float | None = ...,
    ) -> None: ...

class Segment(_message.Message):
    __slots__ = ("end", "entities", "labels", "predicted", "start", "text")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    text: str
    labels: _containers.RepeatedCompositeFieldContainer[LabelScore]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    predicted: _containers.RepeatedScalarFieldContainer[str]
    def __init__(
        self,
        start: int | None = ...,
        end: int | None = ...,
        text: str | None = ...,
        labels: _Iterable[LabelScore | _Mapping] | None = ...,
        entities: _Iterable[Entity | _Mapping] | None = ...,
        predicted: _Iterable[str] | None = ...,
    ) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("entities", "labels", "predicted", "segments")
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedCompositeFieldContainer[LabelScore]
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    predicted: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    def __init__(
        self,
        labels: _Iterable[LabelScore | _Mapping] | None = ...,
        entities: _Iterable[Entity | _Mapping] | None = ...,
        predicted: _Iterable[str] | None = ...,
        segments: _Iterable[Segment | _Mapping] | None = ...,
    ) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("adapter", "head_kind", "predictions", "task", "version")
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
    def __init__(
        self,
        adapter: str | None = ...,
        version: str | None = ...,
        task: str | None = ...,
        head_kind: _common_pb2.HeadKind | str | None = ...,
        predictions: _Iterable[Prediction | _Mapping] | None = ...,
    ) -> None: ...

class FanOutTarget(_message.Message):
    __slots__ = ("adapter", "task")
    ADAPTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    adapter: _common_pb2.AdapterRef
    task: str
    def __init__(self, adapter: _common_pb2.AdapterRef | _Mapping | None = ..., task: str | None = ...) -> None: ...

class FanOutRequest(_message.Message):
    __slots__ = ("targets", "text")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    text: str
    targets: _containers.RepeatedCompositeFieldContainer[FanOutTarget]
    def __init__(self, text: str | None = ..., targets: _Iterable[FanOutTarget | _Mapping] | None = ...) -> None: ...

class FanOutResult(_message.Message):
    __slots__ = ("adapter", "head_kind", "prediction", "task", "version")
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
    def __init__(
        self,
        adapter: str | None = ...,
        version: str | None = ...,
        task: str | None = ...,
        head_kind: _common_pb2.HeadKind | str | None = ...,
        prediction: Prediction | _Mapping | None = ...,
    ) -> None: ...

class FanOutResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[FanOutResult]
    def __init__(self, results: _Iterable[FanOutResult | _Mapping] | None = ...) -> None: ...
