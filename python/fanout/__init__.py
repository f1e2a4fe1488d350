"""fanout: the Python client of fanoutd, the host's HTTP fan-out daemon.

    import fanout
    c = fanout.Client()                  # $FANOUT_SOCKET or the default
    for r in c.map(urls, timeout=5.0, retries=2, concurrency=32):
        print(r.status, r.url, len(r.content))

Standard library only; see docs/python.md.
"""

from ._aio import AsyncClient
from ._client import Client
from ._errors import (APIError, DaemonUnavailable, FanoutError,
                      HTTPStatusError, Overloaded, RequestError)
from ._result import Batch, Headers, Result

__version__ = "0.1.0"

__all__ = ["Client", "AsyncClient", "Batch", "Headers", "Result", "FanoutError",
           "DaemonUnavailable", "APIError", "Overloaded", "RequestError",
           "HTTPStatusError"]
