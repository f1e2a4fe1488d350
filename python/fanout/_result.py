"""Results as the daemon sends them, decoded lazily: Result, Headers, Batch."""

import base64
import json
from typing import (Any, Dict, Iterator, List, Mapping, Optional)

from ._errors import HTTPStatusError, RequestError


class Headers(Mapping[str, str]):
    """A response's headers: a case-insensitive, read-only mapping.

    ``h["Content-Type"]`` is the last value of a repeated header; use
    ``get_all`` for every value, in arrival order.
    """

    __slots__ = ("_d",)

    def __init__(self, raw: Optional[Mapping[str, List[str]]]) -> None:
        # The daemon sends names lower-cased, each to a list of values.
        self._d: Mapping[str, List[str]] = raw or {}

    def __getitem__(self, name: str) -> str:
        values = self._d[name.lower()]
        if not values:
            raise KeyError(name)
        return values[-1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._d

    def get_all(self, name: str) -> List[str]:
        """Every value of header name, in arrival order ([] if none)."""
        return list(self._d.get(name.lower(), ()))

    def __repr__(self) -> str:
        return f"Headers({dict(self._d)!r})"


def _charset(content_type: Optional[str]) -> Optional[str]:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.strip().lower() == "charset" and v:
            return v.strip().strip('"\'')
    return None


class Result:
    """One request's result. Built from the API's dict (``raw``); the body,
    headers and error are decoded only when asked for."""

    __slots__ = ("raw", "_headers", "_content")

    def __init__(self, raw: Dict[str, Any]) -> None:
        self.raw = raw
        self._headers: Optional[Headers] = None
        self._content: Optional[bytes] = None

    # The plain fields.
    @property
    def index(self) -> int:
        """Position of the request in the batch, from 0."""
        return int(self.raw.get("index", 0))

    @property
    def id(self) -> Optional[str]:
        """The request's id, or None when it had none."""
        return self.raw.get("id")

    @property
    def method(self) -> str:
        """The method used."""
        return str(self.raw.get("method", ""))

    @property
    def url(self) -> str:
        """The URL as given."""
        return str(self.raw.get("url", ""))

    @property
    def final_url(self) -> str:
        """The URL of the last response (after redirects)."""
        return str(self.raw.get("final_url") or self.url)

    @property
    def status(self) -> int:
        """HTTP status, or 0 when no status line arrived."""
        return int(self.raw.get("status") or 0)

    @property
    def attempts(self) -> int:
        """Attempts made (1 plus retries; 0 if it never started)."""
        return int(self.raw.get("attempts") or 0)

    @property
    def attempt_log(self) -> List[Dict[str, Any]]:
        """One dict per attempt: started_ms, status, error, total_ms."""
        return list(self.raw.get("attempt_log") or [])

    @property
    def timings(self) -> Dict[str, float]:
        """queue_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms."""
        return dict(self.raw.get("timings") or {})

    @property
    def elapsed(self) -> float:
        """The last attempt's total time, in seconds."""
        return float(self.timings.get("total_ms", 0.0)) / 1000.0

    @property
    def truncated(self) -> bool:
        """Was the body cut at max_response_bytes?"""
        return bool(self.raw.get("truncated"))

    @property
    def redirects(self) -> int:
        """Redirects followed by the last attempt."""
        return int(self.raw.get("redirects") or 0)

    # Decoded on demand.
    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive)."""
        if self._headers is None:
            self._headers = Headers(self.raw.get("headers"))
        return self._headers

    @property
    def content(self) -> bytes:
        """The body as bytes (base64 decoded when it came so)."""
        if self._content is None:
            body = self.raw.get("body")
            if body is None:
                self._content = b""
            elif self.raw.get("body_encoding") == "base64":
                self._content = base64.b64decode(body)
            else:
                self._content = body.encode("utf-8")
        return self._content

    @property
    def encoding(self) -> Optional[str]:
        """The charset named by Content-Type, if any."""
        return _charset(self.headers.get("content-type"))

    @property
    def text(self) -> str:
        """The body as text: Content-Type's charset, else UTF-8."""
        body = self.raw.get("body")
        cs = self.encoding
        if body is not None and self.raw.get("body_encoding") != "base64" \
                and (cs is None or cs.lower().replace("_", "-") in
                     ("utf-8", "utf8", "us-ascii", "ascii")):
            return str(body)     # the daemon sent it as valid UTF-8
        try:
            return self.content.decode(cs or "utf-8", "replace")
        except LookupError:      # a charset Python does not know
            return self.content.decode("utf-8", "replace")

    def json(self, **kw: Any) -> Any:
        """The body parsed as JSON (json.loads keyword arguments pass)."""
        return json.loads(self.text, **kw)

    @property
    def error(self) -> Optional[RequestError]:
        """None, or the RequestError the request ended with."""
        e = self.raw.get("error")
        if not e:
            return None
        return RequestError(str(e.get("code", "")), str(e.get("message", "")),
                            self)

    @property
    def ok(self) -> bool:
        """No error and a status below 400."""
        return not self.raw.get("error") and 0 < self.status < 400

    def raise_for_status(self) -> "Result":
        """Raise the RequestError, or HTTPStatusError for a 4xx/5xx;
        return self otherwise, so calls can be chained."""
        err = self.error
        if err is not None:
            raise err
        if self.status >= 400:
            raise HTTPStatusError(self.status, self.url, self)
        return self

    def __repr__(self) -> str:
        e = self.raw.get("error")
        what = e["code"] if e else self.status
        return f"<Result {self.index} {self.method} {self.url} {what}>"


class Batch:
    """A finished batch: its id, summary and results in submission order."""

    __slots__ = ("batch_id", "summary", "results")

    def __init__(self, batch_id: str, summary: Dict[str, Any],
                 results: List[Result]) -> None:
        self.batch_id = batch_id
        self.summary = summary
        self.results = results

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return (f"<Batch {self.batch_id} {len(self.results)} results, "
                f"{self.summary.get('errors', 0)} errors>")
