"""The exceptions of the fanout client: every failure is a FanoutError."""

from typing import Any, Mapping, Optional


class FanoutError(Exception):
    """Base class of every error the fanout client raises."""


class DaemonUnavailable(FanoutError):
    """The daemon's socket could not be reached.

    ``socket`` is the path tried and ``reason`` what happened (no such
    file, permission denied, connection refused, ...); the message also
    says how to start fanoutd.
    """

    def __init__(self, socket: str, reason: str, hint: str = "") -> None:
        self.socket = socket
        self.reason = reason
        msg = f"cannot reach fanoutd at {socket}: {reason}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)


class APIError(FanoutError):
    """The API refused a call: its HTTP status and error envelope.

    ``code`` is the API's error code (``invalid_batch``, ``not_found``,
    ...), ``path`` the field at fault (``requests[3].url``) or ``""``.
    """

    def __init__(self, status: int, code: str, message: str,
                 path: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.path = path
        where = f" at {path}" if path else ""
        super().__init__(f"{status} {code}{where}: {message}")

    @classmethod
    def from_reply(cls, status: int, body: bytes,
                   headers: Optional[Mapping[str, str]] = None
                   ) -> "APIError":
        """Build the right APIError (or Overloaded) from a reply."""
        code, message, path = "http_error", "", ""
        try:
            import json
            doc: Any = json.loads(body)
            err = doc.get("error") if isinstance(doc, dict) else None
            if isinstance(err, dict):
                code = str(err.get("code") or code)
                message = str(err.get("message") or "")
                path = str(err.get("path") or "")
        except (ValueError, RecursionError):
            message = body[:200].decode("utf-8", "replace")
        if not message:
            message = f"HTTP status {status}"
        if status in (429, 503):
            retry_after: Optional[float] = None
            ra = (headers or {}).get("Retry-After")
            if ra is not None:
                try:
                    retry_after = float(ra)
                except ValueError:
                    retry_after = None
            return Overloaded(status, code, message, path, retry_after)
        return cls(status, code, message, path)


class Overloaded(APIError):
    """429 or 503: try again later, after ``retry_after`` seconds if set."""

    def __init__(self, status: int, code: str, message: str, path: str = "",
                 retry_after: Optional[float] = None) -> None:
        self.retry_after = retry_after
        super().__init__(status, code, message, path)


class RequestError(FanoutError):
    """One request failed (its result's ``error``): ``code``, ``message``.

    ``result`` is the Result it belongs to, when there is one.
    """

    def __init__(self, code: str, message: str,
                 result: Optional[Any] = None) -> None:
        self.code = code
        self.message = message
        self.result = result
        super().__init__(f"{code}: {message}")


class HTTPStatusError(FanoutError):
    """raise_for_status() on a 4xx or 5xx response."""

    def __init__(self, status: int, url: str, result: Any) -> None:
        self.status = status
        self.url = url
        self.result = result
        kind = "client" if status < 500 else "server"
        super().__init__(f"{status} {kind} error for {url}")
