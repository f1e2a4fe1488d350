"""Unit tests of fanout._http: the reply parser and line splitter the
clients read fanoutd's replies with, fed the way a socket delivers bytes
(any split, one byte at a time included). No daemon needed."""

import os
import sys
import unittest

TOP = os.environ.get("TOP_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(TOP, "python"))

from fanout import FanoutError  # noqa: E402
from fanout._http import (LineSplitter, ReplyParser, chunk,  # noqa: E402
                          request_head)

CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n"
           b"6\r\n{\"a\":1\r\n3\r\n}\n{\r\n"
           b"9;ext=1\r\n\"b\":22}\n\n\r\n0\r\n\r\n")
BODY = b'{"a":1}\n{"b":22}\n\n'


def feed_all(data, step):
    """Parse data fed step bytes at a time: the parser, the body."""
    p = ReplyParser()
    out = []
    for i in range(0, len(data), step):
        out += p.feed(data[i:i + step])
    return p, b"".join(out)


class TestReplyParser(unittest.TestCase):
    def test_chunked_in_any_split(self):
        for step in (1, 2, 3, 7, 64, len(CHUNKED)):
            p, body = feed_all(CHUNKED, step)
            self.assertTrue(p.done, step)
            self.assertEqual(p.status, 200)
            self.assertEqual(p.headers["Content-Type"],
                             "application/x-ndjson")
            self.assertEqual(body, BODY, step)

    def test_content_length(self):
        data = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\nhello"
        for step in (1, 4, len(data)):
            p, body = feed_all(data + b"junk", step)
            self.assertEqual((p.status, body, p.done), (400, b"hello", True))

    def test_empty_body_is_done_at_once(self):
        p, body = feed_all(b"HTTP/1.1 204 No Content\r\n"
                           b"Content-Length: 0\r\n\r\n", 100)
        self.assertTrue(p.done)
        self.assertEqual(body, b"")

    def test_until_close(self):
        p = ReplyParser()
        self.assertEqual(p.feed(b"HTTP/1.1 200 OK\r\n\r\nab"), [b"ab"])
        self.assertFalse(p.done)
        p.eof()
        self.assertTrue(p.done)

    def test_eof_mid_reply_is_an_error(self):
        for cut in (10, len(CHUNKED) - 7):
            p = ReplyParser()
            p.feed(CHUNKED[:cut])
            with self.assertRaises(FanoutError):
                p.eof()

    def test_bad_framing_is_an_error(self):
        bad = [b"SMTP ready\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"zz\r\n"]
        for data in bad:
            with self.assertRaises(FanoutError, msg=data):
                ReplyParser().feed(data)

    def test_hostile_sizes_are_errors(self):
        # int(x, 16) takes all of these; a negative size looped forever.
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for size in (b"-6", b"+6", b"0x6", b"1_0", b"\xb2", b" "):
            with self.assertRaises(FanoutError, msg=size):
                ReplyParser().feed(head + size + b"\r\nabcdef\r\n0\r\n\r\n")
        # str.isdigit() takes superscripts, int() does not
        for bad in (b"HTTP/1.1 \xb2\xb9\xb3 OK\r\n\r\n",
                    b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n"):
            with self.assertRaises(FanoutError, msg=bad):
                ReplyParser().feed(bad)
        # a chunk longer than its size
        with self.assertRaises(FanoutError):
            ReplyParser().feed(head + b"3\r\nabcXY5\r\nhello\r\n0\r\n\r\n")

    def test_bounds_hold_in_one_read(self):
        with self.assertRaises(FanoutError):
            ReplyParser().feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 100000 +
                               b"\r\n\r\n")
        p = ReplyParser()
        p.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        with self.assertRaises(FanoutError):
            p.feed(b"1" * 5000 + b"\r\n")

    def test_trickled_head(self):
        p = ReplyParser()
        data = b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 8000 + \
            b"Content-Length: 2\r\n\r\nok"
        out = []
        for i in range(len(data)):
            out += p.feed(data[i:i + 1])
        self.assertEqual(b"".join(out), b"ok")

    def test_bounded_head_and_size_line(self):
        with self.assertRaises(FanoutError):
            ReplyParser().feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000)
        p = ReplyParser()
        p.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        with self.assertRaises(FanoutError):
            p.feed(b"1" * 2000)


class TestLineSplitter(unittest.TestCase):
    def test_lines_across_pieces(self):
        s = LineSplitter()
        self.assertEqual(s.feed([b"ab", b"c\nd"]), [b"abc"])
        self.assertEqual(s.feed([b"e"]), [])
        self.assertEqual(s.feed([b"f\n \n\ng\n"]), [b"def", b"g"])
        self.assertEqual(s.feed([b"tail"]), [])
        self.assertEqual(s.end(), [b"tail"])
        self.assertEqual(s.end(), [])


class TestRequest(unittest.TestCase):
    def test_heads_and_chunks(self):
        h = request_head("GET", "/healthz")
        self.assertEqual(h, b"GET /healthz HTTP/1.1\r\nHost: localhost"
                            b"\r\n\r\n")
        h = request_head("POST", "/v1/batches", b"{}")
        self.assertTrue(h.endswith(b"Content-Length: 2\r\n\r\n{}"))
        h = request_head("POST", "/v1/batches", chunked=True)
        self.assertIn(b"Transfer-Encoding: chunked\r\n", h)
        self.assertEqual(chunk(b"x" * 17), b"11\r\n" + b"x" * 17 + b"\r\n")
        self.assertEqual(chunk(b""), b"0\r\n\r\n")


if __name__ == "__main__":
    unittest.main()
