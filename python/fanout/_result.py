"""Results as the daemon sends them, decoded lazily: Result, Headers, Batch."""

import base64
import json
import sys
from typing import (Any, Dict, Iterator, List, Mapping, Optional)

from ._errors import HTTPStatusError, RequestError

# A stream line longer than this keeps its body only in the line.
_SMALL_LINE = 4096


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
    """One request's result.

    The plain fields are attributes, read once from the API's dict:
    ``index`` (position in the batch, from 0), ``id`` (the request's id or
    None), ``method``, ``url`` (as given), ``final_url`` (of the last
    response, after redirects), ``status`` (0 when no status line
    arrived), ``attempts`` (1 plus retries; 0 if it never started),
    ``redirects`` (followed by the last attempt), ``truncated`` (was the
    body cut at max_response_bytes?) and ``elapsed`` (the last attempt's
    total time, in seconds). The body, headers, error, timings and
    ``raw`` are decoded only when asked for: a Result made from a stream
    line keeps that line (one bytes object) rather than the dict and its
    dozen containers, so holding 100,000 of them is cheap. A body is kept
    once: in the line, unless the line is small.
    """

    __slots__ = ("index", "id", "method", "url", "final_url", "status",
                 "attempts", "redirects", "truncated", "elapsed",
                 "_line", "_raw", "_body", "_body_enc", "_err",
                 "_meta", "_headers", "_content")

    def __init__(self, raw: Dict[str, Any],
                 line: Optional[bytes] = None) -> None:
        """raw: the result as the API sent it; line: the JSON text it was
        parsed from, kept instead of raw when given."""
        g = raw.get
        self.index = int(g("index") or 0)
        self.id: Optional[str] = g("id")
        self.method = sys.intern(str(g("method") or ""))
        self.url = str(g("url") or "")
        fu = g("final_url")
        # One string when they are equal, as they mostly are.
        self.final_url = self.url if not fu or fu == self.url else str(fu)
        self.status = int(g("status") or 0)
        self.attempts = int(g("attempts") or 0)
        self.redirects = int(g("redirects") or 0)
        self.truncated = bool(g("truncated"))
        t = g("timings")
        self.elapsed = float(t.get("total_ms") or 0.0) / 1000.0 \
            if isinstance(t, dict) else 0.0
        # A big body stays in the line alone; a small one is kept as is.
        in_line = line is not None and len(line) > _SMALL_LINE
        self._body: Optional[str] = None if in_line else g("body")
        self._body_enc = g("body_encoding")
        self._err = g("error") or None
        self._line = line
        self._raw = None if line is not None else raw
        self._meta: Optional[Dict[str, Any]] = None
        self._headers: Optional[Headers] = None
        self._content: Optional[bytes] = None

    def _doc(self) -> Dict[str, Any]:
        """The API's dict: raw, or the kept line parsed afresh."""
        if self._raw is not None:
            return self._raw
        d = json.loads(self._line or b"{}")
        d.pop("type", None)
        return d

    def _part(self, name: str) -> Any:
        """headers, timings or attempt_log: one parse of the line for all
        three, kept."""
        if self._raw is not None:
            return self._raw.get(name)
        if self._meta is None:
            d = self._doc()
            self._meta = {k: d.get(k) for k in
                          ("headers", "timings", "attempt_log")}
        return self._meta.get(name)

    def _body_text(self) -> Optional[str]:
        """The body as the API sent it (text or base64)."""
        if self._body is not None or self._line is None:
            return self._body
        return self._doc().get("body")

    @property
    def raw(self) -> Dict[str, Any]:
        """The result's dict as the API sent it (without "type")."""
        if self._raw is None:
            self._raw = self._doc()
            self._line = None
            self._meta = None
            self._body = self._raw.get("body")
        return self._raw

    @property
    def attempt_log(self) -> List[Dict[str, Any]]:
        """One dict per attempt: started_ms, status, error, total_ms."""
        return list(self._part("attempt_log") or [])

    @property
    def timings(self) -> Dict[str, float]:
        """queue_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms."""
        return dict(self._part("timings") or {})

    # Decoded on demand.
    @property
    def headers(self) -> Headers:
        """The response headers (case-insensitive)."""
        if self._headers is None:
            self._headers = Headers(self._part("headers"))
        return self._headers

    @property
    def content(self) -> bytes:
        """The body as bytes (base64 decoded when it came so)."""
        if self._content is None:
            body = self._body_text()
            if body is None:
                self._content = b""
            elif self._body_enc == "base64":
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
        body = self._body
        if self._body_enc == "text":   # decoded by the daemon already
            return str(self._body_text() or "")
        cs = self.encoding
        if body is not None and self._body_enc != "base64" \
                and (cs is None or cs.lower().replace("_", "-") in
                     ("utf-8", "utf8", "us-ascii", "ascii")):
            return str(body)     # the daemon sent it as valid UTF-8
        try:                     # (a big body: from content, kept)
            return self.content.decode(cs or "utf-8", "replace")
        except (LookupError, UnicodeError):
            # A charset Python does not know, or one (idna) that cannot
            # replace what it cannot decode.
            return self.content.decode("utf-8", "replace")

    def json(self, **kw: Any) -> Any:
        """The body parsed as JSON (json.loads keyword arguments pass);
        with "response_body": "json", the value the daemon parsed."""
        if self._body_enc is None and self._body is None:
            d = self._doc()
            if "json" in d and d.get("json_error") is None:
                return d["json"]
        return json.loads(self.text, **kw)

    @property
    def error(self) -> Optional[RequestError]:
        """None, or the RequestError the request ended with."""
        e = self._err
        if not isinstance(e, dict):
            return None
        return RequestError(str(e.get("code", "")), str(e.get("message", "")),
                            self)

    @property
    def ok(self) -> bool:
        """No error and a status below 400."""
        return not self._err and 0 < self.status < 400

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
        e = self._err
        what = e.get("code") if isinstance(e, dict) else self.status
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
