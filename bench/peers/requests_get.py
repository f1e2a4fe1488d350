#!/usr/bin/python3
"""bench/peers/requests_get.py: N GETs of URL with requests, C threads.

    requests_get.py N C URL

The usual threaded idiom: a concurrent.futures.ThreadPoolExecutor of C
threads, each with its own requests.Session (thread-local, so each thread
keeps its connection alive), each GET reading the whole body. Prints one
line for bench/run:

    RESULT ok=K n=N wall_s=W user_s=U sys_s=S maxrss_kb=M [note=...]

ok counts status 200 with the body read. wall_s and the CPU seconds cover
the requests only, from the first one submitted to the last body read:
the interpreter's start and the imports are left out; maxrss_kb is the
process's peak RSS.
"""

import concurrent.futures
import resource
import sys
import threading
import time

import requests

local = threading.local()


def one(url):
    try:
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = requests.Session()
        r = s.get(url)
        r.content
        return r.status_code
    except Exception as e:  # reported, not raised: one failure is a count
        return repr(e)[:80]


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: requests_get.py N C URL")
    n, c, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ok = 0
    errors = {}
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    with concurrent.futures.ThreadPoolExecutor(c) as ex:
        for x in ex.map(one, [url] * n):
            if x == 200:
                ok += 1
            else:
                errors[str(x)] = errors.get(str(x), 0) + 1
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    note = ""
    if errors:
        k, v = max(errors.items(), key=lambda kv: kv[1])
        note = " note=%d failed, e.g. %s" % (n - ok, k)
    print("RESULT ok=%d n=%d wall_s=%.3f user_s=%.2f sys_s=%.2f "
          "maxrss_kb=%d%s" % (ok, n, t1 - t0, r1.ru_utime - r0.ru_utime,
                              r1.ru_stime - r0.ru_stime, r1.ru_maxrss, note))


main()
