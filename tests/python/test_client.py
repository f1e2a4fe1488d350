"""The Python client (python/fanout) against the real fanoutd and the real
test upstream, both started here on temporary sockets and ports."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

TOP = os.environ.get("TOP_SRCDIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "python"))
import fanout  # noqa: E402

BUILD = os.environ.get("TOP_BUILDDIR", os.path.join(TOP, "build"))
FANOUTD = os.environ.get("FANOUTD", os.path.join(BUILD, "src", "fanoutd"))
UPSTREAM = os.environ.get("UPSTREAM", os.path.join(BUILD, "tests",
                                                   "upstream"))
SCALE = float(os.environ.get("CK_TIMEOUT_MULTIPLIER", "1"))

CONF = """[fanoutd]
max_request_bytes = 1M
max_batches_per_uid = 12
"""

D: dict = {}


def wait_until(cond, seconds=10.0, what="condition"):
    """Poll cond() until true; fail after seconds (scaled)."""
    end = time.monotonic() + seconds * SCALE
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def setUpModule():
    D["dir"] = tempfile.mkdtemp(prefix="fanout-py.")
    conf = os.path.join(D["dir"], "fanoutd.conf")
    with open(conf, "w") as f:
        f.write(CONF)
    up = subprocess.Popen([UPSTREAM, "-p", "0", "-b", "127.0.0.1"],
                          stdout=subprocess.PIPE, text=True)
    line = up.stdout.readline().split()
    D["up"] = up
    D["base"] = f"http://127.0.0.1:{int(line[-1])}"
    D["sock"] = os.path.join(D["dir"], "f.sock")
    D["log"] = open(os.path.join(D["dir"], "fanoutd.log"), "w")
    D["fd"] = subprocess.Popen([FANOUTD, "-s", D["sock"], "-c", conf,
                                "-l", "info"], stdout=D["log"],
                               stderr=subprocess.STDOUT)

    def up_and_running():
        try:
            return fanout.Client(D["sock"]).health()["status"] == "ok"
        except fanout.DaemonUnavailable:
            return False
    wait_until(up_and_running, what="fanoutd to answer")


def tearDownModule():
    for k in ("fd", "up"):
        D[k].terminate()
        D[k].wait()
    D["log"].close()
    shutil.rmtree(D["dir"], ignore_errors=True)


def url(path):
    return D["base"] + path


class TestSync(unittest.TestCase):
    def setUp(self):
        self.c = fanout.Client(socket=D["sock"])

    def test_map_in_input_order(self):
        paths = ["/delay/200", "/ok", "/status/404", "/delay/50"]
        rs = self.c.map([url(p) for p in paths], concurrency=4)
        self.assertEqual([r.url for r in rs], [url(p) for p in paths])
        self.assertEqual([r.status for r in rs], [200, 200, 404, 200])
        self.assertEqual([r.ok for r in rs], [True, True, False, True])
        self.assertEqual(rs[1].text, "ok")

    def test_socket_from_environment(self):
        os.environ["FANOUT_SOCKET"] = D["sock"]
        try:
            self.assertEqual(fanout.Client().get(url("/ok")).status, 200)
        finally:
            del os.environ["FANOUT_SOCKET"]

    def test_options_reach_the_batch(self):
        r = self.c.request("DELETE", url("/echo"), headers={"X-T": "yes"},
                           timeout=(1.0, 2.0))
        self.assertEqual(r.method, "DELETE")
        self.assertIn("X-T: yes", r.text)
        rs = self.c.map([url("/echo")], method="PUT", headers={"X-A": "1"})
        self.assertTrue(rs[0].text.startswith("PUT /echo"))
        self.assertIn("X-A: 1", rs[0].text)
        r = self.c.get(url("/delay/2000"), timeout=0.2)
        self.assertEqual(r.error.code, "timeout")
        self.assertIn("timeout_ms 200", r.error.message)

    def test_response_body_forms(self):
        r = self.c.get(url("/gzip"), response_body="json")
        self.assertIsNone(r.raw["body"])
        self.assertEqual(r.json()["hello"], "decompressed")
        r = self.c.get(url("/gzip"), response_body="text")
        self.assertEqual(r.raw["body_encoding"], "text")
        self.assertEqual(r.json()["n"], [1, 2, 3])
        r = self.c.get(url("/gzip"), response_body="sha256")
        self.assertEqual(len(r.raw["sha256"]), 64)
        self.assertEqual(r.content, b"")

    def test_cookies(self):
        rs = self.c.map([url("/setcookie?k=v"), url("/echo")], cookies=True,
                        concurrency=1)
        self.assertIn("Cookie: k=v", rs[1].text)
        rs = self.c.map([url("/echo")])
        self.assertNotIn("Cookie", rs[0].text)

    def test_request_helpers(self):
        r = self.c.post(url("/echo"), json={"a": [1, 0.5]},
                        params={"q": "a b"}, auth=("u", "pw"))
        self.assertIn("POST /echo?q=a+b HTTP/1.1", r.text)
        self.assertIn("Content-Type: application/json", r.text)
        self.assertIn("Authorization: Basic dTpwdw==", r.text)
        self.assertTrue(r.text.endswith('{"a":[1,0.5]}'))
        r = self.c.post(url("/echo"), form={"k": ["x", "y z"]})
        self.assertTrue(r.text.endswith("k=x&k=y+z"))

    def test_binary_bodies_both_ways(self):
        data = bytes(range(256))
        r = self.c.post(url("/echo"), body=data)
        self.assertTrue(r.content.endswith(data))
        r = self.c.get(url("/binary"))
        self.assertEqual(r.raw["body_encoding"], "base64")
        self.assertIsInstance(r.content, bytes)
        self.assertGreater(len(r.content), 0)

    def test_text_and_json(self):
        r = self.c.get(url("/utf8"))
        self.assertEqual(r.text, "h\u00e9llo w\u00f6rld \u2713")
        self.assertEqual(r.encoding, "utf-8")
        r = self.c.post(url("/echo"), body='{"a": [1, 2]}')
        self.assertIn('{"a": [1, 2]}', r.text)
        raw = dict(r.raw, body='{"a": [1]}', body_encoding="utf-8")
        self.assertEqual(fanout.Result(raw).json(), {"a": [1]})

    def test_other_charsets(self):
        raw = {"index": 0, "status": 200, "body": "Y2Fm6Q==",
               "body_encoding": "base64",
               "headers": {"content-type": ["text/plain; charset=latin-1"]}}
        self.assertEqual(fanout.Result(raw).text, "caf\u00e9")
        raw["headers"] = {"content-type": ["text/plain; charset=bogus"]}
        self.assertEqual(fanout.Result(raw).text, "caf\ufffd")

    def test_repeated_headers(self):
        r = self.c.get(url("/headers"))
        self.assertEqual(r.headers.get_all("X-Multi"), ["one", "two"])
        self.assertEqual(r.headers["x-multi"], "two")
        self.assertEqual(r.headers.get_all("SET-COOKIE"), ["a=1", "b=2"])
        self.assertIn("Content-Type", r.headers)
        self.assertEqual(r.headers.get_all("absent"), [])

    def test_errors_and_raise_for_status(self):
        r = self.c.get("http://127.0.0.1:1/")
        self.assertFalse(r.ok)
        self.assertEqual(r.error.code, "connect_failed")
        with self.assertRaises(fanout.RequestError) as cm:
            r.raise_for_status()
        self.assertIs(cm.exception.result, r)
        r = self.c.get(url("/status/503"))
        self.assertIsNone(r.error)
        with self.assertRaises(fanout.HTTPStatusError) as cm:
            r.raise_for_status()
        self.assertEqual(cm.exception.status, 503)
        self.assertIs(self.c.get(url("/ok")).raise_for_status().status, 200)

    def test_bad_batch_is_api_error(self):
        with self.assertRaises(fanout.APIError) as cm:
            self.c.submit([{"url": url("/ok")}, {"url": "ftp://x/"}])
        e = cm.exception
        self.assertEqual((e.status, e.code, e.path),
                         (400, "invalid_batch", "requests[1].url"))
        self.assertIsInstance(e, fanout.FanoutError)
        with self.assertRaises(fanout.APIError) as cm:
            self.c.status("0" * 32)
        self.assertEqual((cm.exception.status, cm.exception.code),
                         (404, "not_found"))

    def test_too_big_is_413(self):
        big = "x" * (1 << 20)
        with self.assertRaises(fanout.APIError) as cm:
            self.c.submit([{"url": url("/echo"), "body": big}])
        self.assertEqual(cm.exception.status, 413)
        self.assertNotIsInstance(cm.exception, fanout.Overloaded)

    def test_unfinished_batches_cap_is_429(self):
        ids = []
        try:
            with self.assertRaises(fanout.Overloaded) as cm:
                for _ in range(13):    # max_batches_per_uid = 12
                    ids.append(self.c.submit_async([url("/hang")]))
            self.assertEqual(cm.exception.status, 429)
            self.assertIn("max_batches_per_uid", cm.exception.message)
            self.assertIsInstance(cm.exception, fanout.APIError)
        finally:
            for i in ids:
                self.c.cancel(i)
        for i in ids:
            self.assertEqual(self.c.wait(i, timeout=10 * SCALE)
                             .summary["state"], "cancelled")

    def test_unreachable_socket(self):
        path = os.path.join(D["dir"], "absent.sock")
        with self.assertRaises(fanout.DaemonUnavailable) as cm:
            fanout.Client(socket=path).health()
        self.assertIn(path, str(cm.exception))
        self.assertIn("no such file", str(cm.exception))
        self.assertIn("systemctl start fanoutd.socket", str(cm.exception))
        plain = os.path.join(D["dir"], "plain")
        open(plain, "w").close()
        with self.assertRaises(fanout.DaemonUnavailable) as cm:
            fanout.Client(socket=plain).map([url("/ok")])
        self.assertEqual(cm.exception.reason, "connection refused")

    def test_stream_with_progress(self):
        seen = []
        rs = list(self.c.stream([url("/delay/400"), url("/ok")],
                                progress=seen.append, progress_ms=50))
        self.assertEqual([r.index for r in rs], [1, 0])
        self.assertGreater(len(seen), 0)
        self.assertEqual(seen[0]["total"], 2)

    def test_submit_is_a_batch(self):
        b = self.c.submit([{"url": url("/status/500"), "id": "a"},
                           {"url": url("/ok"), "id": "b"}],
                          concurrency=1, rate=(100, 5), deadline_ms=10000,
                          defaults={"timeout_ms": 5000})
        self.assertEqual(len(b.batch_id), 32)
        self.assertEqual([r.id for r in b.results], ["a", "b"])
        self.assertEqual(b.summary["total"], 2)
        self.assertEqual(b.summary["errors"], 0)

    def test_async_flow(self):
        bid = self.c.submit_async([url("/delay/100"), url("/ok"),
                                   url("/status/404")], concurrency=1)
        self.assertIn(self.c.status(bid)["state"], ("queued", "running"))
        self.assertIn(bid, [b["batch_id"] for b in self.c.batches()])
        b = self.c.wait(bid, timeout=10 * SCALE)
        self.assertEqual([r.status for r in b.results], [200, 200, 404])
        self.assertEqual([r.index for r in self.c.results(bid, after=0)],
                         [1, 2])
        self.assertEqual(self.c.cancel(bid)["state"], "done")

    def test_closing_a_stream_cancels_the_batch(self):
        it = self.c.stream([url("/ok")] + [url("/hang")] * 3, concurrency=4)
        first = next(it)
        self.assertEqual(first.status, 200)
        it.close()
        wait_until(lambda: self.c.health()["inflight"] == 0,
                   what="the abandoned batch to be cancelled")

    def test_resources(self):
        self.assertTrue(self.c.ready())
        self.assertIn("batches", self.c.stats())
        self.assertIn("hosts", self.c.hosts())
        self.assertIn("max_inflight", str(self.c.config()))

    def test_threads_share_a_client(self):
        errors, counts = [], []

        def work():
            try:
                rs = self.c.map([url("/ok")] * 50, concurrency=8)
                counts.append(sum(r.status == 200 for r in rs))
            except Exception as e:     # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=work) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(counts, [50] * 8)

    def test_many_from_an_iterator(self):
        rs = self.c.map((url("/ok") for _ in range(5000)), concurrency=64)
        self.assertEqual(len(rs), 5000)
        self.assertTrue(all(r.ok for r in rs))
        self.assertEqual([r.index for r in rs], list(range(5000)))


class TestLimits(unittest.TestCase):
    def test_ctrl_c_cancels_the_batch(self):
        c = fanout.Client(socket=D["sock"])
        prog = ("import sys, fanout; sys.path.insert(0, %r)\n"
                "fanout.Client(socket=%r).map([%r] * 3)\n" %
                (os.path.join(TOP, "python"), D["sock"], url("/hang")))
        p = subprocess.Popen([sys.executable, "-c", prog],
                             env=dict(os.environ, PYTHONPATH=os.path.join(
                                 TOP, "python")),
                             stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: c.health()["inflight"] == 3,
                       what="the three /hang requests to start")
            p.send_signal(signal.SIGINT)
            err = p.communicate(timeout=10 * SCALE)[1]
        finally:
            if p.poll() is None:
                p.kill()
        self.assertIn("KeyboardInterrupt", err)
        wait_until(lambda: c.health()["inflight"] == 0,
                   what="the interrupted batch to be cancelled")

    def test_stream_memory_is_flat(self):
        import tracemalloc
        c = fanout.Client(socket=D["sock"])
        n = 20000
        tracemalloc.start()
        try:
            got = 0
            for r in c.stream((url("/bytes/1000") for _ in range(n)),
                              concurrency=64):
                got += len(r.content)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertEqual(got, n * 1000)
        # Kept, 20,000 results of 1,000 bytes would be well over 20 MB.
        self.assertLess(peak, 4 << 20)


    def test_map_holds_less_than_two_copies(self):
        import tracemalloc
        c = fanout.Client(socket=D["sock"])
        n = 20000
        tracemalloc.start()
        try:
            rs = c.map([url("/ok")] * n, concurrency=64)
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        self.assertEqual(sum(r.status == 200 and r.content == b"ok"
                             for r in rs), n)
        reply = sum(len(r._line) for r in rs)
        # Results kept as parsed dicts would hold ~7 times the reply.
        self.assertLess(held, 2 * reply)
        self.assertEqual(rs[5].raw["status"], 200)     # still all there
        self.assertEqual(rs[5].headers["content-type"], "text/plain")


    def test_big_bodies_are_kept_once(self):
        import tracemalloc
        c = fanout.Client(socket=D["sock"])
        tracemalloc.start()
        try:
            rs = c.map([url("/bytes/100000")] * 30, concurrency=8)
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        reply = sum(len(r._line) for r in rs)
        # In the line only (the parsed body beside it held twice that).
        self.assertLess(held, 1.3 * reply)
        self.assertEqual([len(r.content) for r in rs], [100000] * 30)
        t = rs[0].timings
        self.assertIn("total_ms", t)
        self.assertEqual(len(rs[0].attempt_log), 1)


class TestAsync(unittest.TestCase):
    def run_async(self, coro):
        return asyncio.run(coro)

    def test_same_methods(self):
        async def go():
            async with fanout.AsyncClient(socket=D["sock"]) as ac:
                rs = await ac.map([url("/delay/100"), url("/ok")])
                self.assertEqual([r.status for r in rs], [200, 200])
                got = [r.index async for r in
                       ac.stream([url("/delay/200"), url("/ok")])]
                self.assertEqual(got, [1, 0])
                r = await ac.get(url("/headers"))
                self.assertEqual(r.headers.get_all("x-multi"),
                                 ["one", "two"])
                bid = await ac.submit_async([url("/ok")] * 3)
                b = await ac.wait(bid, timeout=10 * SCALE)
                self.assertEqual(len(b.results), 3)
                self.assertTrue(await ac.ready())
                self.assertEqual((await ac.health())["status"], "ok")
                with self.assertRaises(fanout.APIError) as cm:
                    await ac.submit([{"url": 1}])
                self.assertEqual(cm.exception.path, "requests[0].url")
                return True
        self.assertTrue(self.run_async(go()))

    def test_gather_and_unreachable(self):
        async def go():
            ac = fanout.AsyncClient(socket=D["sock"])
            rs = await asyncio.gather(*(ac.get(url("/ok"))
                                        for _ in range(10)))
            self.assertTrue(all(r.ok for r in rs))
            bad = fanout.AsyncClient(socket=D["dir"] + "/absent.sock")
            with self.assertRaises(fanout.DaemonUnavailable):
                await bad.health()
        self.run_async(go())


if __name__ == "__main__":
    unittest.main(verbosity=2)
