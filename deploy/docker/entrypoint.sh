#!/bin/sh
# The image's entrypoint: one image, three roles.
#   all     pusherd with the embedded poller (one node; the demo's default)
#   server  pusherd alone (--no-poller): the nodes of a cluster, fed by one `poller` container
#   poller  python -m poller: polls upstream (RAPIDAPI_KEY, or --simulate) and publishes to
#           the nodes through Redis (REDIS_URL)
# Anything else runs as a command, e.g. `python3 -m auth keys create --help`.
# exec: the Python process becomes PID 1's child-free self and gets SIGTERM directly.
set -eu
PYTHON="${PUSHERD_PYTHON:-python3}"
role="${1:-all}"
case "$role" in
  all)    shift || true; exec "$PYTHON" -m pusherd "$@" ;;
  server) shift; exec "$PYTHON" -m pusherd --no-poller "$@" ;;
  poller) shift; exec "$PYTHON" -m poller "$@" ;;
  -*)     exec "$PYTHON" -m pusherd "$@" ;;
  *)      exec "$@" ;;
esac
