#!/usr/bin/python3
"""bench/peers/fanout_py.py: N GETs of URL from Python through fanoutd.

    fanout_py.py N C URL SOCKET

What a Python program that replaced its thread pool does: one
fanout.Client().map() of N URLs at concurrency C, every result made a
Result and its body read (r.content). Prints the line bench/run reads,
as aiohttp_get.py does; the CPU seconds are this process's only (the
daemon's are reported apart):

    RESULT ok=K n=N wall_s=W user_s=U sys_s=S maxrss_kb=M [note=...]
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
import fanout  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: fanout_py.py N C URL SOCKET")
    n, c, url, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
        sys.argv[4]
    client = fanout.Client(socket=sock)
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    results = client.map([url] * n, concurrency=c)
    ok = sum(1 for r in results if r.status == 200 and r.content is not None
             and not r.error)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    note = ""
    bad = [r for r in results if r.status != 200 or r.error]
    if bad:
        note = " note=%d failed, e.g. %r" % (len(bad), bad[0])
    print("RESULT ok=%d n=%d wall_s=%.3f user_s=%.2f sys_s=%.2f "
          "maxrss_kb=%d%s" % (ok, n, t1 - t0, r1.ru_utime - r0.ru_utime,
                              r1.ru_stime - r0.ru_stime, r1.ru_maxrss, note))


main()
