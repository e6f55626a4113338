"""The image's HEALTHCHECK: exit 0 when ``PUSHERD_HEALTH_URL`` answers 2xx within 3 s, else 1.

Python, not curl: the slim runtime stage carries no curl. The default is the server's ``/up``
on ``PUSHERD_PORT``; the poller-only container points it at its metrics port. Issue 14 brings
``/ready``, which then replaces ``/up`` here.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("PUSHERD_PORT", "8080")
    url = os.environ.get("PUSHERD_HEALTH_URL") or f"http://127.0.0.1:{port}/up"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            status = int(response.status)
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
