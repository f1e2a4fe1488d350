"""HTTP/1.1 as the clients speak it to fanoutd, without I/O: the request
head, chunked upload framing, and a reply parser fed whatever bytes
arrive (the sync client feeds it from socket.recv, the async one from a
StreamReader), so both read replies with one piece of code.

Reading a big reply costs one parse per received block, not one call per
chunk or per line: the daemon sends each stream line as its own chunk."""

import re
from typing import Dict, List, Optional

from ._errors import FanoutError

_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,18}")

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
        self._hbuf = bytearray()    # the head, until it is whole
        self._scanned = 0           # of _hbuf, searched for its end
        self._buf = b""             # body bytes not yet parsed
        self._chunked = False
        self._left: Optional[int] = None   # body (or chunk) bytes to come
        self._crlf = 0              # bytes of a chunk's CRLF still to skip

    def feed(self, data: bytes) -> List[bytes]:
        """Parse data; the body pieces it held, in order."""
        if not self.head_done:
            # A head trickled in byte by byte is appended and searched
            # once, not copied and searched again from its start.
            self._hbuf += data
            end = self._hbuf.find(b"\r\n\r\n", max(0, self._scanned - 3))
            if end < 0 or end > MAX_HEAD:
                if end > MAX_HEAD or len(self._hbuf) > MAX_HEAD:
                    raise FanoutError("fanoutd sent a reply head over "
                                      "64 KiB")
                self._scanned = len(self._hbuf)
                return []
            self._head(bytes(self._hbuf[:end]))
            data = bytes(self._hbuf[end + 4:])
            self._hbuf = bytearray()
            if self.done:
                return []
        if self.done:
            return []
        if self._buf:
            data, self._buf = self._buf + data, b""
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
                not _DIGITS.fullmatch(parts[1]):
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
                if not _DIGITS.fullmatch(cl):
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
            if self._crlf:                  # the CRLF after a chunk's data
                want = b"\r\n"[2 - self._crlf:]
                got = data[pos:pos + len(want)]
                if not want.startswith(got):
                    raise FanoutError("fanoutd sent a chunk longer than "
                                      "its size")
                pos += len(got)
                self._crlf -= len(got)
                continue
            if self._left:                  # inside a chunk
                take = min(self._left, n - pos)
                out.append(data[pos:pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._crlf = 2
                continue
            eol = data.find(b"\r\n", pos, pos + MAX_SIZE_LINE)
            if eol < 0:                     # a chunk-size line
                if n - pos >= MAX_SIZE_LINE:
                    raise FanoutError("fanoutd sent a chunk-size line over "
                                      "1 KiB")
                self._buf = data[pos:]
                break
            size_s = data[pos:eol].split(b";", 1)[0].strip(b" \t")
            if not _HEX.fullmatch(size_s):
                raise FanoutError(f"fanoutd sent a bad chunk size: "
                                  f"{size_s[:20]!r}")
            size = int(size_s, 16)
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
