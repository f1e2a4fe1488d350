"""The synchronous client: one short-lived connection to the Unix socket
per call, so one Client may be shared by many threads."""

import socket as _socket
import time
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Tuple)

from ._errors import FanoutError
from ._http import (READ, LineSplitter, ReplyParser, chunk,
                    request_head)
from ._result import Batch, Result
from ._wire import (RequestSpec, StreamState, api_error, batch_head,
                    batch_path, body_chunks, decode, ended, ended_batch,
                    one_request, request_defaults, results_path,
                    socket_path, unavailable)

Progress = Callable[[Dict[str, Any]], None]


class _Reply:
    """One call's connection and its reply: status and headers once
    open() returns, then the body read on demand."""

    def __init__(self, path: str, timeout: Optional[float]) -> None:
        self.path = path
        self.timeout = timeout
        self.sock: Optional[_socket.socket] = None
        self.parser = ReplyParser()
        self.status = 0
        self.headers: Dict[str, str] = {}
        self._pending: List[bytes] = []     # body read with the head

    def open(self, method: str, path: str, body: Any) -> None:
        """Connect, send the request, read the reply's head."""
        try:
            self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
        except OSError as e:
            raise FanoutError(f"cannot make a socket for {self.path}: "
                              f"{e}") from None
        try:
            self.sock.connect(self.path)
        except OSError as e:
            raise unavailable(self.path, e) from None
        try:
            if body is None or isinstance(body, bytes):
                self.sock.sendall(request_head(method, path, body))
            else:
                self._send_chunked(method, path, body)
            while not self.parser.head_done:
                self._pending += self._recv()
        except FanoutError:
            raise
        except OSError as e:
            raise FanoutError(f"connection to fanoutd at {self.path} "
                              f"failed: {e}") from None
        self.status = self.parser.status
        self.headers = self.parser.headers

    def _send_chunked(self, method: str, path: str,
                      body: Iterable[bytes]) -> None:
        try:
            self.sock.sendall(request_head(method, path, chunked=True))
            for piece in body:
                self.sock.sendall(chunk(piece))
            self.sock.sendall(chunk(b""))
        except (BrokenPipeError, ConnectionResetError):
            pass    # refused early (413, 429): its reply is read next

    def _recv(self) -> List[bytes]:
        data = self.sock.recv(READ)
        if not data:
            self.parser.eof()
            return []
        return self.parser.feed(data)

    def blocks(self) -> Iterator[List[bytes]]:
        """The body: per read from the socket, the pieces it held."""
        try:
            if self._pending:
                yield self._pending
                self._pending = []
            while not self.parser.done:
                yield self._recv()
        except OSError as e:
            raise FanoutError(f"connection to fanoutd lost: {e}") from None

    def read(self) -> bytes:
        """The whole body; closes the connection."""
        try:
            return b"".join(p for b in self.blocks() for p in b)
        finally:
            self.close()

    def lines(self) -> Iterator[bytes]:
        """The body's non-blank lines, as they arrive."""
        split = LineSplitter()
        for block in self.blocks():
            yield from split.feed(block)
        yield from split.end()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class Client:
    """A fanoutd client.

    socket: the daemon's Unix socket (default $FANOUT_SOCKET, else
    /run/fanoutd/fanoutd.sock). timeout: seconds an API call may take to
    connect and between reads (None: no limit); a batch's own timeouts
    are request options.
    """

    def __init__(self, socket: Optional[str] = None,
                 timeout: Optional[float] = None) -> None:
        self.socket = socket_path(socket)
        self.timeout = timeout

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release (every call has its own connection)."""

    # The transport.
    def _open(self, method: str, path: str, body: Any = None) -> _Reply:
        reply = _Reply(self.socket, self.timeout)
        try:
            reply.open(method, path, body)
        except BaseException:
            reply.close()       # Ctrl-C too: closing cancels the batch
            raise
        return reply

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        reply = self._open(method, path, body)
        data = reply.read()
        if reply.status >= 400:
            raise api_error(reply.status, data, reply.headers)
        return decode(data)

    def _stream(self, requests: Iterable[RequestSpec], head: Dict[str, Any],
                progress: Optional[Progress], st: StreamState
                ) -> Iterator[Result]:
        reply = self._open("POST", "/v1/batches", body_chunks(head, requests))
        try:
            if reply.status >= 400:
                raise api_error(reply.status, reply.read(), reply.headers)
            for raw in reply.lines():
                r = st.line(raw, progress)
                if r is not None:
                    yield r
        finally:
            reply.close()   # early: the daemon cancels what is left

    # Batches.
    def stream(self, requests: Iterable[RequestSpec],
               progress: Optional[Progress] = None, **opts: Any
               ) -> Iterator[Result]:
        """Results as they finish (stream mode), read lazily.

        requests are URL strings or dicts as the API takes them; opts are
        the batch's fields (concurrency, rate, deadline_ms, defaults,
        progress_ms, ...) and the request defaults of map(). progress,
        if given, is called with each progress line (progress_ms defaults
        to 1000 then). Leaving the loop early closes the connection, which
        cancels the rest of the batch.
        """
        if progress is not None:
            opts.setdefault("progress_ms", 1000)
        head = _head("stream", opts)
        return self._stream(requests, head, progress, StreamState())

    def submit(self, requests: Iterable[RequestSpec],
               progress: Optional[Progress] = None, **opts: Any) -> Batch:
        """Run a batch to its end; its Batch has the results in submission
        order. Options as stream()."""
        if progress is not None:
            opts.setdefault("progress_ms", 1000)
        st = StreamState(keep=True)
        for _ in self._stream(requests, _head("stream", opts), progress, st):
            pass
        return st.batch()

    def map(self, urls: Iterable[RequestSpec], **opts: Any) -> List[Result]:
        """One Result per URL (or request dict), in input order.

        Keywords: method, timeout (seconds, or (connect, read)),
        connect_timeout, retries, headers, follow_redirects, and the
        batch's concurrency, rate, deadline (seconds) or deadline_ms.
        """
        return self.submit(urls, **opts).results

    def request(self, method: str, url: str, **kw: Any) -> Result:
        """One request; kw as a request dict's fields (body, headers,
        timeout_ms, ...) or map()'s keywords."""
        return self.submit([one_request(method, url, kw)], **kw).results[0]

    def get(self, url: str, **kw: Any) -> Result:
        """One GET; see request()."""
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Result:
        """One POST; see request()."""
        return self.request("POST", url, **kw)

    # Async batches and the resources.
    def submit_async(self, requests: Iterable[RequestSpec], **opts: Any
                     ) -> str:
        """Start an async batch; returns its id (see status, wait)."""
        doc = self._call("POST", "/v1/batches",
                         body_chunks(_head("async", opts), requests))
        return str(doc["batch_id"])

    def status(self, batch_id: str) -> Dict[str, Any]:
        """GET /v1/batches/ID: state, progress, summary."""
        return self._call("GET", batch_path(batch_id))

    def results(self, batch_id: str, after: int = -1,
                limit: Optional[int] = None) -> List[Result]:
        """The finished results with index > after (a page of them)."""
        reply = self._open("GET", results_path(batch_id, after, limit))
        if reply.status >= 400:
            raise api_error(reply.status, reply.read(), reply.headers)
        try:
            return [Result(decode(raw), raw) for raw in reply.lines()]
        finally:
            reply.close()

    def wait(self, batch_id: str, timeout: Optional[float] = None,
             poll: float = 0.1) -> Batch:
        """Poll until the batch has ended; its Batch with every result.
        timeout: seconds (None: forever); TimeoutError when passed."""
        end = None if timeout is None else time.monotonic() + timeout
        delay = min(poll, 0.01)
        while True:
            st = self.status(batch_id)
            if ended(st):
                break
            if end is not None and time.monotonic() >= end:
                raise TimeoutError(f"batch {batch_id} still "
                                   f"{st.get('state')} after {timeout} s")
            time.sleep(delay if end is None else
                       max(0.0, min(delay, end - time.monotonic())))
            delay = min(delay * 2, poll)
        got: List[Result] = []
        while True:
            page = self.results(batch_id, got[-1].index if got else -1)
            if not page:
                break
            got.extend(page)
        return ended_batch(batch_id, st, got)

    def cancel(self, batch_id: str) -> Dict[str, Any]:
        """DELETE /v1/batches/ID; the status after cancelling."""
        return self._call("DELETE", batch_path(batch_id))

    def batches(self) -> List[Dict[str, Any]]:
        """The batches you may see (GET /v1/batches)."""
        return list(self._call("GET", "/v1/batches").get("batches", []))

    def health(self) -> Dict[str, Any]:
        """GET /healthz."""
        return self._call("GET", "/healthz")

    def ready(self) -> bool:
        """Does /readyz answer 200 (not draining)?"""
        reply = self._open("GET", "/readyz")
        reply.read()
        return reply.status == 200

    def stats(self) -> Dict[str, Any]:
        """GET /v1/stats."""
        return self._call("GET", "/v1/stats")

    def hosts(self) -> Dict[str, Any]:
        """GET /v1/hosts."""
        return self._call("GET", "/v1/hosts")

    def config(self) -> Dict[str, Any]:
        """GET /v1/config."""
        return self._call("GET", "/v1/config")


_DEFAULT_KW = ("method", "timeout", "connect_timeout", "retries", "headers",
               "follow_redirects")


def _head(mode: str, opts: Dict[str, Any]) -> Dict[str, Any]:
    """The batch head from stream()/submit()/map() keywords."""
    kw = {k: opts.pop(k) for k in _DEFAULT_KW if k in opts}
    defaults = request_defaults(defaults=opts.pop("defaults", None), **kw)
    return batch_head(mode, defaults=defaults, **opts)


__all__: Tuple[str, ...] = ("Client",)
