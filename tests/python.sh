#!/bin/sh
# The Python client's unittest suites: tests/python/test_http.py (the
# reply parser, no daemon) and tests/python/test_client.py (against the
# real daemon and test upstream); skipped (77) without python3 >= 3.9.
if ! command -v python3 >/dev/null 2>&1 ||
    ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
	echo "python3 >= 3.9 not found: skipping the Python client's tests"
	exit 77
fi
export PYTHONDONTWRITEBYTECODE=1
dir=${TOP_SRCDIR:-.}/tests/python
python3 "$dir/test_http.py" -v && exec python3 "$dir/test_client.py" -v
