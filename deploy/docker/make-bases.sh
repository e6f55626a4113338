#!/bin/sh
# Base images made from Debian's packages, for a machine that reaches no container registry
# (only Debian's mirror, PyPI and npm). Needs mmdebstrap and a running Docker engine:
#
#   deploy/docker/make-bases.sh
#   docker build --network host \
#     --build-arg BASE=pusherd-base/python:bookworm \
#     --build-arg NODE_BASE=pusherd-base/node:trixie -t pusherd .
#
# python: bookworm's python3 (3.11) + venv; node: trixie's nodejs (20.19, the scoreboard needs
# >= 20.19; bookworm has 18). Extra CAs of this host (/usr/local/share/ca-certificates, e.g. a
# TLS-inspecting proxy's) are added, or pip and npm inside the build could not verify PyPI/npm.
# An image that already exists is kept; PUSHERD_REBUILD_BASES=1 makes both anew.
set -eu

hook='if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
  cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"
  chroot "$1" update-ca-certificates >/dev/null
fi'

make_base() {  # make_base TAG SUITE PACKAGES
  if [ -z "${PUSHERD_REBUILD_BASES:-}" ] && docker image inspect "$1" >/dev/null 2>&1; then
    return 0
  fi
  mmdebstrap --quiet --variant=minbase --include="$3,ca-certificates" \
    --customize-hook="$hook" "$2" - | docker import - "$1" >/dev/null
  echo "made $1"
}

make_base pusherd-base/python:bookworm bookworm python3,python3-venv
make_base pusherd-base/node:trixie trixie nodejs,npm
