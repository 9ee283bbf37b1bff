"""Domain errors raised by services, mapped once to HTTP (api/errors.py) and gRPC.

Each carries the google.rpc.Code number and the HTTP status of the API contract,
and a message meant for the user (it names the field at fault).
"""

from __future__ import annotations

# Error messages name what the client sent, but never echo more than this of it: a
# message is not a mirror for megabytes of input, and a gRPC status message longer
# than the peer's metadata limit reaches it as RESOURCE_EXHAUSTED instead.
ECHO_LIMIT = 100


def quoted(value: object, limit: int = ECHO_LIMIT) -> str:
    """``value`` in double quotes for a message, cut to ``limit`` characters with its length."""
    text = str(value)
    if len(text) <= limit:
        return f'"{text}"'
    return f'"{text[:limit]}…" ({len(text)} characters)'


# Numbers clients send (page numbers, event sequence numbers) are int32 in the contract.
INT32_MAX = 2**31 - 1


def whole_number(raw: str, *, name: str, hint: str = "") -> int:
    """``raw`` as an int in ``0..INT32_MAX``; otherwise 400 naming the parameter ``name``."""
    try:
        value = int(raw)
    except ValueError as exc:  # also a number of more than 4,300 digits
        raise InvalidArgument(f"{name} must be a whole number{hint}", field=name) from exc
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative{hint}", field=name)
    if value > INT32_MAX:
        raise InvalidArgument(f"{name} must be at most {INT32_MAX}{hint}", field=name)
    return value


# google.rpc.Code numbers that runs record without a ServiceError of their own: a run
# interrupted by a restart (ABORTED) and one that failed on our side (INTERNAL).
ABORTED = 10
INTERNAL = 13


class ServiceError(Exception):
    code: int = INTERNAL
    http_status: int = 500
    grpc_name: str = "INTERNAL"
    # HTTP headers the answer carries (RateLimited's Retry-After); never mutated here.
    headers: dict[str, str] = {}

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details: list[dict] = []

    def __reduce__(self):
        # Pickled as they are (run workers send them back to serve): subclasses such as
        # RecipeInvalidError take other arguments than the message pickle would pass.
        return _restore, (type(self), self.args, dict(self.__dict__))


def _restore(cls: type[ServiceError], args: tuple, state: dict) -> ServiceError:
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidArgument(ServiceError):
    code, http_status, grpc_name = 3, 400, "INVALID_ARGUMENT"


class UnsupportedMediaType(ServiceError):
    """A body of a Content-Type the endpoint does not read (415)."""

    code, http_status, grpc_name = 3, 415, "INVALID_ARGUMENT"


class NotFound(ServiceError):
    code, http_status, grpc_name = 5, 404, "NOT_FOUND"


class AlreadyExists(ServiceError):
    code, http_status, grpc_name = 6, 409, "ALREADY_EXISTS"


class PermissionDenied(ServiceError):
    code, http_status, grpc_name = 7, 403, "PERMISSION_DENIED"


class ResourceExhausted(ServiceError):
    code, http_status, grpc_name = 8, 413, "RESOURCE_EXHAUSTED"


class DeadlineExceeded(ServiceError):
    code, http_status, grpc_name = 4, 504, "DEADLINE_EXCEEDED"


class Cancelled(ServiceError):
    code, http_status, grpc_name = 1, 499, "CANCELLED"


class Unavailable(ServiceError):
    code, http_status, grpc_name = 14, 503, "UNAVAILABLE"


class Unauthenticated(ServiceError):
    code, http_status, grpc_name = 16, 401, "UNAUTHENTICATED"


AUTHENTICATION_REQUIRED = "authentication required: send Authorization: Bearer <API token>"


class RecipeInvalidError(InvalidArgument):
    """The recipe does not validate; ``details`` lists ``{location, error}`` items."""

    def __init__(self, problems: list[dict]) -> None:
        # Here, not at the top: every service imports this module, and the recipe
        # checker brings jsonschema and YAML (~0.1 s) into processes that never check one.
        from pipelines.engine.recipe import more_problems

        first = problems[0] if problems else {"location": "recipe", "error": "invalid recipe"}
        where = f"{first['location']}: " if first.get("location") else ""
        super().__init__(f"invalid recipe: {where}{first['error']}{more_problems(len(problems) - 1)}", field="recipe")
        self.problems = problems
        self.details = [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": p["location"], "description": p["error"]} for p in problems],
            }
        ]


class RateLimited(ServiceError):
    """Too many requests or failed sign-ins: 429 with ``Retry-After`` (and the
    ``RateLimit-*`` headers for API rate limits); RESOURCE_EXHAUSTED over gRPC."""

    code, http_status, grpc_name = 8, 429, "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, retry_after: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after), **(headers or {})}
