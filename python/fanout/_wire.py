"""What the sync and async clients share: the socket path, batch bodies,
option names, reply decoding and the error for a failed connect."""

import base64
import errno
import json
import os
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, Optional,
                    Tuple, Union)
from urllib.parse import quote

from ._errors import APIError, DaemonUnavailable, FanoutError
from ._result import Batch, Result

DEFAULT_SOCKET = "/run/fanoutd/fanoutd.sock"
CHUNK = 64 * 1024       # bytes of request JSON per chunk sent

Rate = Union[float, int, Tuple[float, float], Mapping[str, float]]
RequestSpec = Union[str, Mapping[str, Any]]


def socket_path(socket: Optional[str]) -> str:
    """The socket to use: socket, else $FANOUT_SOCKET, else the default."""
    return socket or os.environ.get("FANOUT_SOCKET") or DEFAULT_SOCKET


def unavailable(path: str, exc: OSError) -> DaemonUnavailable:
    """Say why connecting to path failed, and what to do about it."""
    e = exc.errno
    if e == errno.ENOENT:
        return DaemonUnavailable(path, "no such file",
                                 "is fanoutd running? "
                                 "systemctl start fanoutd.socket")
    if e in (errno.EACCES, errno.EPERM):
        return DaemonUnavailable(path, "permission denied",
                                 "are you in the socket's group "
                                 "(socket_group, usually fanout)?")
    if e == errno.ECONNREFUSED:
        return DaemonUnavailable(path, "connection refused",
                                 "is fanoutd running? "
                                 "systemctl start fanoutd.socket")
    return DaemonUnavailable(path, exc.strerror or str(exc))


def _ms(seconds: Optional[float], name: str) -> Optional[int]:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or seconds < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0")
    return max(1, int(round(seconds * 1000)))


def rate_obj(rate: Rate) -> Dict[str, float]:
    """The API's rate object from a number, (per_second, burst) or dict."""
    if isinstance(rate, Mapping):
        return dict(rate)
    if isinstance(rate, tuple):
        per_second, burst = rate
        return {"per_second": float(per_second), "burst": float(burst)}
    return {"per_second": float(rate)}


def request_defaults(method: Optional[str] = None,
                     timeout: Union[None, float, Tuple[float, float]] = None,
                     connect_timeout: Optional[float] = None,
                     retries: Optional[int] = None,
                     headers: Optional[Mapping[str, str]] = None,
                     follow_redirects: Optional[bool] = None,
                     defaults: Optional[Mapping[str, Any]] = None,
                     ) -> Dict[str, Any]:
    """The batch's "defaults" from keyword arguments in requests' style.

    timeout is seconds for the whole request, or (connect, read) as in
    requests, which becomes connect_timeout_ms and timeout_ms.
    """
    d: Dict[str, Any] = dict(defaults or {})
    if method is not None:
        d["method"] = method
    if isinstance(timeout, tuple):
        connect_timeout, timeout = timeout
    t = _ms(timeout, "timeout")
    if t is not None:
        d["timeout_ms"] = t
    c = _ms(connect_timeout, "connect_timeout")
    if c is not None:
        d["connect_timeout_ms"] = c
    if retries is not None:
        d["retries"] = int(retries)
    if headers:
        d["headers"] = dict(headers)
    if follow_redirects is not None:
        d["follow_redirects"] = bool(follow_redirects)
    return d


def batch_head(mode: str, concurrency: Optional[int] = None,
               rate: Optional[Rate] = None,
               deadline_ms: Optional[int] = None,
               deadline: Optional[float] = None,
               progress_ms: Optional[int] = None,
               defaults: Optional[Mapping[str, Any]] = None,
               **extra: Any) -> Dict[str, Any]:
    """The batch object without its requests."""
    b: Dict[str, Any] = {"mode": mode}
    if concurrency is not None:
        b["concurrency"] = int(concurrency)
    if rate is not None:
        b["rate"] = rate_obj(rate)
    if deadline is not None:
        deadline_ms = _ms(deadline, "deadline")
    if deadline_ms is not None:
        b["deadline_ms"] = int(deadline_ms)
    if progress_ms is not None:
        b["progress_ms"] = int(progress_ms)
    if defaults:
        b["defaults"] = dict(defaults)
    b.update(extra)
    return b


def as_request(r: RequestSpec) -> Mapping[str, Any]:
    """A request dict from a URL string or a dict (as the API takes it)."""
    if isinstance(r, str):
        return {"url": r}
    if isinstance(r, Mapping):
        return r
    raise TypeError(f"a request is a URL string or a dict, not "
                    f"{type(r).__name__}")


def body_chunks(head: Mapping[str, Any],
                requests: Iterable[RequestSpec]) -> Iterator[bytes]:
    """The batch's JSON, head and requests, in chunks of about CHUNK bytes:
    the whole body is never one string."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                             allow_nan=False).encode
    start = dumps(dict(head))
    parts: List[str] = [start[:-1] + ("," if len(start) > 2 else "") +
                        '"requests":[']
    size, first = len(parts[0]), True
    for r in requests:
        s = dumps(as_request(r))
        if not first:
            s = "," + s
        first = False
        parts.append(s)
        size += len(s)
        if size >= CHUNK:
            yield "".join(parts).encode("utf-8")
            parts, size = [], 0
    parts.append("]}")
    yield "".join(parts).encode("utf-8")


def api_error(status: int, body: bytes,
              headers: Mapping[str, str]) -> APIError:
    """The exception for a refused API call."""
    return APIError.from_reply(status, body, headers)


def decode(body: bytes) -> Any:
    """An API reply's JSON; a broken one is a FanoutError."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as e:
        raise FanoutError(f"fanoutd sent a reply that is not JSON: {e}") \
            from None


class StreamState:
    """Reads stream lines: results, progress, summary and the final error."""

    def __init__(self, keep: bool = False) -> None:
        self.batch_id = ""
        self.total = 0
        self.summary: Dict[str, Any] = {}
        self.error: Optional[Dict[str, Any]] = None
        self.keep = keep        # submit(): hold the results by index
        self.results: List[Optional[Result]] = []

    def line(self, raw: bytes, progress: Any = None) -> Optional[Result]:
        """One line: a Result, or None for the others (progress calls
        progress(dict))."""
        doc = decode(raw)
        kind = doc.pop("type", None) if isinstance(doc, dict) else None
        if kind == "result":
            r = Result(doc, raw)
            if self.keep and 0 <= r.index < self.total:
                self.results[r.index] = r
            return r
        if kind == "batch":
            self.batch_id = str(doc.get("batch_id", ""))
            self.total = int(doc.get("total", 0))
            if self.keep:
                self.results = [None] * self.total
        elif kind == "progress":
            if progress is not None:
                progress(doc)
        elif kind == "summary":
            self.summary = doc
        elif kind == "error":
            self.error = doc.get("error")
        return None

    def batch(self) -> Batch:
        """The Batch once a kept stream has ended, results by index."""
        results = self.results
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise FanoutError(f"the stream of batch {self.batch_id} ended "
                              f"without {len(missing)} results "
                              f"(first: index {missing[0]})")
        summary = dict(self.summary)
        if self.error:
            summary["error"] = self.error
        return Batch(self.batch_id, summary, list(results))  # type: ignore


def one_request(method: str, url: str, kw: Dict[str, Any]) -> Dict[str, Any]:
    """request()'s request dict, taking its fields out of kw (the rest
    are map()'s keywords); a bytes body is sent as body_base64, and an
    auth of (user, password) as requests takes it is basic auth."""
    req: Dict[str, Any] = {"url": url, "method": method}
    for k in ("id", "body", "body_base64", "json", "form", "params",
              "auth", "headers", "response_body", "decompress",
              "http_version", "max_response_bytes"):
        if k in kw:
            req[k] = kw.pop(k)
    if isinstance(req.get("body"), (bytes, bytearray)):
        req["body_base64"] = base64.b64encode(req.pop("body")).decode()
    if isinstance(req.get("auth"), (tuple, list)):
        req["auth"] = {"basic": list(req["auth"])}
    return req


def batch_path(batch_id: str, rest: str = "") -> str:
    """/v1/batches/ID plus rest, the id quoted."""
    return "/v1/batches/" + quote(batch_id, safe="") + rest


def results_path(batch_id: str, after: int, limit: Optional[int]) -> str:
    """GET /v1/batches/ID/results with its after and limit."""
    q = []
    if after >= 0:
        q.append(f"after={after}")
    if limit is not None:
        q.append(f"limit={int(limit)}")
    return batch_path(batch_id, "/results") + ("?" + "&".join(q) if q
                                               else "")


def ended_batch(batch_id: str, status: Mapping[str, Any],
                results: List[Result]) -> Batch:
    """wait()'s Batch: the results, and the status's summary and state."""
    summary = dict(status.get("summary") or {})
    summary["state"] = status.get("state")
    return Batch(batch_id, summary, results)


def ended(status: Mapping[str, Any]) -> bool:
    """Has the batch of this status ended?"""
    return status.get("state") in ("done", "cancelled")
