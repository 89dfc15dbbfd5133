import grpc
import pytest

from hub import errors
from hub.transport.status import STATUS_TABLE, status_for


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.NotFound("x"), grpc.StatusCode.NOT_FOUND),
        (errors.InvalidArgument("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.InvalidArtifact(["x"]), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.IncompatibleAdapter(["x"]), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.ResourceExhausted("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.Unavailable("x"), grpc.StatusCode.UNAVAILABLE),
        (errors.Unauthenticated("x"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.PermissionDenied("x"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.Conflict("x"), grpc.StatusCode.ABORTED),
        (errors.IntegrityError("x"), grpc.StatusCode.DATA_LOSS),
        (errors.Overloaded("x", "reason", 5), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.Draining(), grpc.StatusCode.UNAVAILABLE),
        (errors.DeadlineExceeded("x"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (errors.Cancelled("x"), grpc.StatusCode.CANCELLED),
    ],
)
def test_each_domain_error_has_its_status(error: errors.DomainError, code: grpc.StatusCode) -> None:
    assert status_for(error) is code


def test_every_domain_error_class_is_in_the_table() -> None:
    def subclasses(cls: type) -> set[type]:
        return {cls} | {s for c in cls.__subclasses__() for s in subclasses(c)}

    mapped = {cls for cls, _ in STATUS_TABLE}
    unmapped = [
        c.__name__
        for c in subclasses(errors.DomainError) - {errors.DomainError}
        if not any(issubclass(c, m) for m in mapped)
    ]
    assert unmapped == []
