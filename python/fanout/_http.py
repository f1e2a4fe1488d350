"""HTTP/1.1 as the clients speak it to fanoutd, without I/O: the request
head, chunked upload framing, and a reply parser fed whatever bytes
arrive (the sync client feeds it from socket.recv, the async one from a
StreamReader), so both read replies with one piece of code.

Reading a big reply costs one parse per received block, not one call per
chunk or per line: the daemon sends each stream line as its own chunk."""

from typing import Dict, List, Optional

from ._errors import FanoutError

MAX_HEAD = 64 * 1024        # bytes of status line and headers
MAX_SIZE_LINE = 1024        # bytes of one chunk-size line
MAX_LINE = 1 << 30          # a result line may carry a big body
READ = 256 * 1024           # bytes asked of the socket per read


def request_head(method: str, path: str, body: Optional[bytes] = None,
                 chunked: bool = False) -> bytes:
    """The request line and headers (and a small body, if given)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
    if chunked:
        head += ("Content-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n")
    elif body is not None:
        head += ("Content-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n")
    out = (head + "\r\n").encode("latin-1")
    return out + body if body is not None else out


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked upload (b"" gives the last chunk)."""
    if not data:
        return b"0\r\n\r\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


class ReplyParser:
    """One reply, parsed from pieces of bytes as they come.

    feed() returns the body's bytes found in the piece (decoded from
    chunked framing); status and headers are set once head_done is true,
    done once the body has ended. Malformed framing is a FanoutError.
    """

    def __init__(self) -> None:
        self.status = 0
        self.headers: Dict[str, str] = {}
        self.head_done = False
        self.done = False
        self._buf = b""             # bytes not yet parsed
        self._chunked = False
        self._left: Optional[int] = None   # body (or chunk) bytes to come
        self._crlf = 0              # bytes of a chunk's CRLF still to skip

    def feed(self, data: bytes) -> List[bytes]:
        """Parse data; the body pieces it held, in order."""
        if self._buf:
            data, self._buf = self._buf + data, b""
        if not self.head_done:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > MAX_HEAD:
                    raise FanoutError("fanoutd sent a reply head over "
                                      "64 KiB")
                self._buf = data
                return []
            self._head(data[:end])
            data = data[end + 4:]
            if self.done:
                return []
        if self.done:
            return []
        if not self._chunked:
            return self._plain(data)
        return self._chunks(data)

    def eof(self) -> None:
        """The connection closed: fine only if the body may end so."""
        if self.done:
            return
        if self.head_done and not self._chunked and self._left is None:
            self.done = True
            return
        raise FanoutError("fanoutd closed the connection mid-reply")

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or \
                not parts[1].isdigit():
            raise FanoutError(f"fanoutd sent no HTTP status line: "
                              f"{lines[0][:80]!r}")
        self.status = int(parts[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().title()] = v.strip()
        self.head_done = True
        te = self.headers.get("Transfer-Encoding", "").lower()
        self._chunked = "chunked" in te
        if not self._chunked:
            cl = self.headers.get("Content-Length")
            if cl is not None:
                if not cl.isdigit():
                    raise FanoutError(f"fanoutd sent a bad Content-Length:"
                                      f" {cl!r}")
                self._left = int(cl)
                self.done = self._left == 0

    def _plain(self, data: bytes) -> List[bytes]:
        if self._left is None:          # until the connection closes
            return [data] if data else []
        take = data[:self._left]
        self._left -= len(take)
        self.done = self._left == 0
        return [take] if take else []

    def _chunks(self, data: bytes) -> List[bytes]:
        out: List[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            if self._crlf:                  # after a chunk's data
                skip = min(self._crlf, n - pos)
                pos += skip
                self._crlf -= skip
                continue
            if self._left:                  # inside a chunk
                take = min(self._left, n - pos)
                out.append(data[pos:pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._crlf = 2
                continue
            eol = data.find(b"\r\n", pos)   # a chunk-size line
            if eol < 0:
                if n - pos > MAX_SIZE_LINE:
                    raise FanoutError("fanoutd sent a chunk-size line over "
                                      "1 KiB")
                self._buf = data[pos:]
                break
            size_s = data[pos:eol].split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise FanoutError(f"fanoutd sent a bad chunk size: "
                                  f"{size_s[:20]!r}") from None
            pos = eol + 2
            if size == 0:                   # the last chunk; no trailers
                self.done = True
                break
            self._left = size
        return out


class LineSplitter:
    """Body pieces in, complete non-blank lines out (without their
    newline); a long line is joined once, never re-copied per piece."""

    def __init__(self) -> None:
        self._partial: List[bytes] = []
        self._size = 0

    def feed(self, pieces: List[bytes]) -> List[bytes]:
        """The lines the pieces complete."""
        if not pieces:
            return []
        data = b"".join(pieces) if len(pieces) > 1 else pieces[0]
        if b"\n" not in data:
            self._size += len(data)
            if self._size > MAX_LINE:
                raise FanoutError("fanoutd sent a reply line over 1 GiB")
            self._partial.append(data)
            return []
        lines = data.split(b"\n")
        if self._partial:
            lines[0] = b"".join(self._partial) + lines[0]
        last = lines.pop()
        self._partial, self._size = ([last], len(last)) if last else ([], 0)
        return [x for x in lines if x and not x.isspace()]

    def end(self) -> List[bytes]:
        """What is left once the body has ended: a last unterminated
        line, if any."""
        rest = b"".join(self._partial)
        self._partial, self._size = [], 0
        return [rest] if rest.strip() else []
