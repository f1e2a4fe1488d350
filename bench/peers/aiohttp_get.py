#!/usr/bin/python3
"""bench/peers/aiohttp_get.py: N GETs of URL with aiohttp, C at a time.

    aiohttp_get.py N C URL

The usual asyncio idiom: one ClientSession whose TCPConnector(limit=C)
holds at most C connections (kept alive), and asyncio.gather over N
coroutines that each GET the URL and read the whole body. Prints one line
for bench/run:

    RESULT ok=K n=N wall_s=W user_s=U sys_s=S maxrss_kb=M [note=...]

ok counts status 200 with the body read. wall_s and the CPU seconds cover
the requests only, from the first one started to the last body read: the
interpreter's start and the imports are left out (they are not the
client's per-request cost); maxrss_kb is the process's peak RSS.
"""

import asyncio
import resource
import sys
import time

import aiohttp


async def run(n, c, url):
    ok = 0
    errors = {}
    conn = aiohttp.TCPConnector(limit=c)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one():
            async with session.get(url) as r:
                await r.read()
                return r.status

        t0 = time.monotonic()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        res = await asyncio.gather(*(one() for _ in range(n)),
                                   return_exceptions=True)
        t1 = time.monotonic()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    for x in res:
        if x == 200:
            ok += 1
        else:
            k = repr(x)[:80]
            errors[k] = errors.get(k, 0) + 1
    note = ""
    if errors:
        k, v = max(errors.items(), key=lambda kv: kv[1])
        note = " note=%d failed, e.g. %s" % (n - ok, k)
    print("RESULT ok=%d n=%d wall_s=%.3f user_s=%.2f sys_s=%.2f "
          "maxrss_kb=%d%s" % (ok, n, t1 - t0, r1.ru_utime - r0.ru_utime,
                              r1.ru_stime - r0.ru_stime, r1.ru_maxrss, note))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: aiohttp_get.py N C URL")
    asyncio.run(run(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))


main()
