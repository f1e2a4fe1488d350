"""The asyncio client: the same methods as Client, as coroutines, on
asyncio's Unix streams (one connection per call)."""

import asyncio
from typing import (Any, AsyncIterator, Dict, Iterable, List, Optional,
                    Tuple)

from ._client import Progress, _head
from ._errors import DaemonUnavailable, FanoutError
from ._http import READ, LineSplitter, ReplyParser, chunk, request_head
from ._result import Batch, Result
from ._wire import (RequestSpec, StreamState, api_error, batch_path,
                    body_chunks, decode, ended, ended_batch, one_request,
                    results_path, socket_path, unavailable)

class _AReply:
    """A reply being read: status, headers, then the body in pieces."""

    def __init__(self, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter,
                 timeout: Optional[float]) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout      # seconds each read may take
        self.parser = ReplyParser()
        self.status = 0
        self.headers: Dict[str, str] = {}
        self._pending: List[bytes] = []     # body read with the head

    async def _recv(self) -> List[bytes]:
        if self.timeout is None:
            data = await self.reader.read(READ)
        else:
            try:
                data = await asyncio.wait_for(self.reader.read(READ),
                                              self.timeout)
            except asyncio.TimeoutError:
                raise FanoutError(f"fanoutd sent nothing for "
                                  f"{self.timeout} s") from None
        if not data:
            self.parser.eof()
            return []
        return self.parser.feed(data)

    async def head(self) -> None:
        while not self.parser.head_done:
            self._pending += await self._recv()
        self.status = self.parser.status
        self.headers = self.parser.headers

    async def blocks(self) -> AsyncIterator[List[bytes]]:
        """The body: per read, the pieces it held."""
        try:
            if self._pending:
                yield self._pending
                self._pending = []
            while not self.parser.done:
                yield await self._recv()
        except OSError as e:
            raise FanoutError(f"connection to fanoutd lost: {e}") from None

    async def read(self) -> bytes:
        return b"".join([p async for b in self.blocks() for p in b])

    async def lines(self) -> AsyncIterator[bytes]:
        """The body's non-blank lines, as they arrive."""
        split = LineSplitter()
        async for block in self.blocks():
            for line in split.feed(block):
                yield line
        for line in split.end():
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
        reply = _AReply(reader, writer, self.timeout)
        try:
            try:
                writer.write(request_head(method, path,
                                          chunked=chunks is not None))
                if chunks is not None:
                    for c in chunks:
                        writer.write(chunk(c))
                        await writer.drain()
                    writer.write(chunk(b""))
                await writer.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass    # refused early: try to read why (asyncio may
                #         report the closed connection instead)
            await reply.head()
        except OSError as e:
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
            return [Result(decode(raw), raw)
                    async for raw in reply.lines()]
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
