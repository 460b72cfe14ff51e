"""Every error the SDK raises, under one root.

```
HudError                       root: catch this to catch everything the SDK raises
├── ConfigurationError         settings that cannot work (a base URL without a key, ...)
├── MissingDependencyError     an optional extra is not installed (also an ImportError): install it
├── InvalidInputError          refused before sending: the message says what to fix (also a ValueError)
├── JobBusyError               `run_job(resume=...)`: another process is running that job
├── APIConnectionError         the server could not be reached (after retries)
│   └── APITimeoutError        the server did not answer in time (after retries)
└── APIStatusError             the server answered with an error status (`status_code`, `detail`)
    ├── InvalidRequestError    400, 413, 422 and other 4xx: the request is wrong, do not retry it as is
    ├── AuthenticationError    401, 403: the API key is missing, wrong or revoked
    ├── NotFoundError          404: no such object in your account
    ├── ConflictError          409: the object's state forbids the call
    ├── RateLimitError         429 (after retries): slow down (`retry_after` seconds, when given)
    └── ServerError            5xx (after retries), or an answer the SDK cannot read
```

Messages never contain the API key.
"""

from __future__ import annotations

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "HudError",
    "InvalidInputError",
    "InvalidRequestError",
    "JobBusyError",
    "MissingDependencyError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "error_for_status",
]


class HudError(Exception):
    """Root of every error the SDK raises."""


class ConfigurationError(HudError):
    """The settings cannot work as given; the message says which setting to change."""


class MissingDependencyError(HudError, ImportError):
    """A feature needs an optional extra that is not installed; the message names the pip command."""


class InvalidInputError(HudError, ValueError):
    """An argument was refused before any request was sent; the message says what to fix."""


class JobBusyError(HudError):
    """The job is being run by another process (its heartbeats go on), or holds no lease to wait for.

    Raised by `run_job(resume=...)` instead of running the same attempts twice; the message says how
    to go on.
    """


class APIConnectionError(HudError):
    """The server could not be reached, after the configured retries."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout, after the configured retries."""


class APIStatusError(HudError):
    """The server answered with an error status.

    The message reads `getJob: HTTP 404 from the server at http://...: <detail>`, then what to do
    when the SDK can tell.

    Attributes:
        status_code: The HTTP status code.
        detail: The server's explanation (its `{"detail": ...}`), or the raw body when it sent none.
        operation: The API operation that failed, such as `getJob`.
        where: Who answered: the embedded local server, a server's URL or the HUD platform's.
        hint: What to do about it, when the SDK can tell; else None.
    """

    def __init__(
        self, status_code: int, detail: str, *, operation: str, where: str | None = None, hint: str | None = None
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        self.operation = operation
        self.where = where
        self.hint = hint
        source = f" from {where}" if where else ""
        advice = f" ({hint})" if hint else ""
        super().__init__(f"{operation}: HTTP {status_code}{source}: {detail}{advice}")


class InvalidRequestError(APIStatusError):
    """400, 413, 422 or another 4xx: the server refused the request as malformed or invalid."""


class AuthenticationError(APIStatusError):
    """401 or 403: the API key is missing, wrong or revoked (set HUD_API_KEY or pass api_key=)."""


class NotFoundError(APIStatusError):
    """404: no such object in the account of the API key in use."""


class ConflictError(APIStatusError):
    """409: the object's state forbids the call (e.g. closing an environment twice)."""


class RateLimitError(APIStatusError):
    """429, still answered after the configured retries.

    Attributes:
        retry_after: The seconds the server asked to wait, when it said.
    """

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        operation: str,
        retry_after: float | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(status_code, detail, operation=operation, where=where, hint=hint)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx after the configured retries, or a 2xx answer whose body the SDK could not read."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_for_status(
    status_code: int,
    detail: str,
    *,
    operation: str,
    retry_after: float | None = None,
    where: str | None = None,
    hint: str | None = None,
) -> APIStatusError:
    """The error for an HTTP error status: the one place where statuses map to classes.

    `where` names who answered and `hint` says what to do; both only go into the message.
    """
    if status_code == 429:
        return RateLimitError(status_code, detail, operation=operation, retry_after=retry_after, where=where, hint=hint)
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else InvalidRequestError
    return cls(status_code, detail, operation=operation, where=where, hint=hint)
