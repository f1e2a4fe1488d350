"""The asyncio client: the same methods as Client, as coroutines, on
asyncio's Unix streams (one connection per call)."""

import asyncio
from typing import (Any, AsyncIterator, Dict, Iterable, List, Optional,
                    Tuple)

from ._client import Progress, _head
from ._errors import DaemonUnavailable, FanoutError
from ._result import Batch, Result
from ._wire import (RequestSpec, StreamState, api_error, batch_path,
                    body_chunks, decode, ended, ended_batch, one_request,
                    results_path, socket_path, unavailable)

_MAX_LINE = 1 << 30     # a result line may carry a big body


class _AReply:
    """A reply being read: status, headers, then the body in pieces."""

    def __init__(self, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: Dict[str, str] = {}
        self._chunked = False
        self._left: Optional[int] = None     # Content-Length still to read
        self._buf = b""
        self._eof = False

    async def head(self) -> None:
        line = await self.reader.readline()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise FanoutError(f"fanoutd sent no HTTP status line: {line!r}")
        self.status = int(parts[1])
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            self.headers[k.strip().title()] = v.strip()
        te = self.headers.get("Transfer-Encoding", "").lower()
        self._chunked = "chunked" in te
        if not self._chunked:
            cl = self.headers.get("Content-Length")
            self._left = int(cl) if cl is not None else None

    async def _piece(self) -> bytes:
        """The next piece of body, b"" at its end."""
        if self._eof:
            return b""
        if self._chunked:
            size_line = await self.reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await self.reader.readline()) not in (b"\r\n", b"\n",
                                                             b""):
                    pass
                self._eof = True
                return b""
            data = await self.reader.readexactly(size)
            await self.reader.readexactly(2)
            return data
        if self._left is None:
            data = await self.reader.read(65536)
            self._eof = not data
            return data
        if self._left == 0:
            self._eof = True
            return b""
        data = await self.reader.read(min(self._left, 65536))
        if not data:
            raise FanoutError("fanoutd closed the connection mid-reply")
        self._left -= len(data)
        return data

    async def read(self) -> bytes:
        out = [self._buf]
        self._buf = b""
        while True:
            p = await self._piece()
            if not p:
                return b"".join(out)
            out.append(p)

    async def lines(self) -> AsyncIterator[bytes]:
        """The body's non-empty lines; each piece is split once, and a
        long line is joined once (never re-copied per piece)."""
        partial: List[bytes] = [self._buf] if self._buf else []
        size = len(self._buf)
        self._buf = b""
        while True:
            p = await self._piece()
            if not p:
                rest = b"".join(partial)
                if rest.strip():
                    yield rest
                return
            if b"\n" not in p:
                size += len(p)
                if size > _MAX_LINE:
                    raise FanoutError("a reply line over 1 GiB")
                partial.append(p)
                continue
            parts = p.split(b"\n")
            parts[0] = b"".join(partial) + parts[0]
            last = parts.pop()
            partial, size = ([last], len(last)) if last else ([], 0)
            for line in parts:
                if line.strip():
                    yield line

    def close(self) -> None:
        self.writer.close()


class AsyncClient:
    """Client's methods as coroutines; use ``async with``. socket and
    timeout (seconds for connecting and each read) as Client's."""

    def __init__(self, socket: Optional[str] = None,
                 timeout: Optional[float] = None) -> None:
        self.socket = socket_path(socket)
        self.timeout = timeout

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Nothing to release (every call has its own connection)."""

    async def _open(self, method: str, path: str,
                    chunks: Optional[Iterable[bytes]] = None) -> _AReply:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket, limit=1 << 20),
                self.timeout)
        except OSError as e:
            raise unavailable(self.socket, e) from None
        except asyncio.TimeoutError:
            raise DaemonUnavailable(self.socket, "timed out") from None
        reply = _AReply(reader, writer)
        try:
            head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
            if chunks is not None:
                head += ("Content-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n")
            writer.write((head + "\r\n").encode("latin-1"))
            if chunks is not None:
                for c in chunks:
                    writer.write(b"%x\r\n%s\r\n" % (len(c), c))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            await asyncio.wait_for(reply.head(), self.timeout)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            reply.close()
            raise FanoutError(f"connection to fanoutd at {self.socket} "
                              f"failed: {e}") from None
        except BaseException:
            reply.close()       # cancelled or Ctrl-C: the batch ends too
            raise
        return reply

    async def _call(self, method: str, path: str,
                    chunks: Optional[Iterable[bytes]] = None) -> Any:
        reply = await self._open(method, path, chunks)
        try:
            data = await reply.read()
        finally:
            reply.close()
        if reply.status >= 400:
            raise api_error(reply.status, data, reply.headers)
        return decode(data)

    async def _stream(self, requests: Iterable[RequestSpec],
                      head: Dict[str, Any], progress: Optional[Progress],
                      st: StreamState) -> AsyncIterator[Result]:
        reply = await self._open("POST", "/v1/batches",
                                 body_chunks(head, requests))
        try:
            if reply.status >= 400:
                raise api_error(reply.status, await reply.read(),
                                reply.headers)
            async for raw in reply.lines():
                r = st.line(raw, progress)
                if r is not None:
                    yield r
        finally:
            reply.close()

    def stream(self, requests: Iterable[RequestSpec],
               progress: Optional[Progress] = None, **opts: Any
               ) -> AsyncIterator[Result]:
        """As Client.stream(), for ``async for``."""
        if progress is not None:
            opts.setdefault("progress_ms", 1000)
        return self._stream(requests, _head("stream", opts), progress,
                            StreamState())

    async def submit(self, requests: Iterable[RequestSpec],
                     progress: Optional[Progress] = None, **opts: Any
                     ) -> Batch:
        """As Client.submit()."""
        if progress is not None:
            opts.setdefault("progress_ms", 1000)
        st = StreamState(keep=True)
        async for _ in self._stream(requests, _head("stream", opts),
                                    progress, st):
            pass
        return st.batch()

    async def map(self, urls: Iterable[RequestSpec], **opts: Any
                  ) -> List[Result]:
        """As Client.map()."""
        return (await self.submit(urls, **opts)).results

    async def request(self, method: str, url: str, **kw: Any) -> Result:
        """As Client.request()."""
        return (await self.submit([one_request(method, url, kw)],
                                  **kw)).results[0]

    async def get(self, url: str, **kw: Any) -> Result:
        """As Client.get()."""
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> Result:
        """As Client.post()."""
        return await self.request("POST", url, **kw)

    async def submit_async(self, requests: Iterable[RequestSpec],
                           **opts: Any) -> str:
        """As Client.submit_async()."""
        doc = await self._call("POST", "/v1/batches",
                               body_chunks(_head("async", opts), requests))
        return str(doc["batch_id"])

    async def status(self, batch_id: str) -> Dict[str, Any]:
        """As Client.status()."""
        return await self._call("GET", batch_path(batch_id))

    async def results(self, batch_id: str, after: int = -1,
                      limit: Optional[int] = None) -> List[Result]:
        """As Client.results()."""
        reply = await self._open("GET", results_path(batch_id, after, limit))
        try:
            if reply.status >= 400:
                raise api_error(reply.status, await reply.read(),
                                reply.headers)
            return [Result(decode(raw)) async for raw in reply.lines()]
        finally:
            reply.close()

    async def wait(self, batch_id: str, timeout: Optional[float] = None,
                   poll: float = 0.1) -> Batch:
        """As Client.wait()."""
        loop = asyncio.get_running_loop()
        end = None if timeout is None else loop.time() + timeout
        delay = min(poll, 0.01)
        while True:
            st = await self.status(batch_id)
            if ended(st):
                break
            if end is not None and loop.time() >= end:
                raise TimeoutError(f"batch {batch_id} still "
                                   f"{st.get('state')} after {timeout} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, poll)
        got: List[Result] = []
        while True:
            page = await self.results(batch_id,
                                      got[-1].index if got else -1)
            if not page:
                break
            got.extend(page)
        return ended_batch(batch_id, st, got)

    async def cancel(self, batch_id: str) -> Dict[str, Any]:
        """As Client.cancel()."""
        return await self._call("DELETE", batch_path(batch_id))

    async def batches(self) -> List[Dict[str, Any]]:
        """As Client.batches()."""
        return list((await self._call("GET", "/v1/batches"))
                    .get("batches", []))

    async def health(self) -> Dict[str, Any]:
        """As Client.health()."""
        return await self._call("GET", "/healthz")

    async def ready(self) -> bool:
        """As Client.ready()."""
        reply = await self._open("GET", "/readyz")
        try:
            await reply.read()
        finally:
            reply.close()
        return reply.status == 200

    async def stats(self) -> Dict[str, Any]:
        """As Client.stats()."""
        return await self._call("GET", "/v1/stats")

    async def hosts(self) -> Dict[str, Any]:
        """As Client.hosts()."""
        return await self._call("GET", "/v1/hosts")

    async def config(self) -> Dict[str, Any]:
        """As Client.config()."""
        return await self._call("GET", "/v1/config")


__all__: Tuple[str, ...] = ("AsyncClient",)
