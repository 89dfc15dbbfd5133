"""Domain errors shared by the registry and the hub.

They carry no transport detail: the gRPC layer maps each class to a status code in one
table (hub/transport/status.py). Messages are written for the client: they say what is
wrong and what to do, and never include internals such as paths or tracebacks.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error that may reach a client with its message."""

    # When the same call may succeed later: how long to wait first, in milliseconds. The
    # transport sends it as the `retry-after-ms` trailing metadata; clients back off by it.
    retry_after_ms: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The named thing does not exist in the caller's namespace."""


class AlreadyExists(DomainError):
    """The thing to create exists already."""


class InvalidArgument(DomainError):
    """The request itself is malformed or out of bounds."""


class InvalidArtifact(InvalidArgument):
    """An uploaded adapter failed validation; every problem found is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"adapter rejected ({len(self.problems)} problem(s)):\n{lines}")


class FailedPrecondition(DomainError):
    """The request is well formed but the current state does not allow it."""


class IncompatibleAdapter(FailedPrecondition):
    """The adapter was trained for another backbone or does not fit this one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"adapter does not fit the running backbone:\n{lines}")


class Conflict(DomainError):
    """A concurrent writer changed the same thing first; retrying may succeed."""


class ResourceExhausted(DomainError):
    """A quota, a size cap or a capacity limit was reached."""


class Overloaded(ResourceExhausted):
    """Refused at admission: a queue bound or the tenant's rate limit is reached. Nothing of the
    request ran; ``reason`` names the limit (for the scheduler's refusal counts), and the call
    may be retried after ``retry_after_ms``."""

    def __init__(self, message: str, reason: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_ms = max(1, int(retry_after_ms))


class DeadlineExceeded(DomainError):
    """The call's deadline passed, or would pass before the request could be answered."""


class Cancelled(DomainError):
    """The caller cancelled the call or went away; its queued work was dropped."""


class Unavailable(DomainError):
    """A dependency (object store, backbone not yet loaded) cannot serve right now."""


class Draining(Unavailable):
    """The server is shutting down: it finishes what it admitted and takes nothing new."""

    def __init__(self) -> None:
        super().__init__("the server is shutting down; retry on another replica or later")
        self.retry_after_ms = 1000


class Unauthenticated(DomainError):
    """The call carries no valid credentials."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class IntegrityError(DomainError):
    """Stored bytes do not match their recorded digest: never serve them."""
