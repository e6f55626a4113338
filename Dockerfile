# syntax=docker/dockerfile:1
# pusherd: the Pusher protocol server, its auth service and the sports poller in one image.
#
#   docker build -t pusherd .
#   docker run --rm -p 8080:8080 pusherd              # server + embedded simulated poller
#   docker run ... pusherd server                      # server only (the poller runs elsewhere)
#   docker run ... pusherd poller --simulate           # the poller alone, publishing via Redis
#
# Both bases are build arguments so the image also builds where no registry is reachable: pass a
# local image made from Debian's packages (README, "Deploy"). BASE needs python3 + venv (3.11+),
# NODE_BASE needs node >= 20 + npm.
ARG BASE=python:3.11-slim-bookworm
ARG NODE_BASE=node:20-bookworm-slim

# --- the scoreboard page (clients/js-example): npm and esbuild stay in this stage ------------
FROM ${NODE_BASE} AS scoreboard
WORKDIR /build
COPY clients/js-example/package.json clients/js-example/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY clients/js-example/build.mjs clients/js-example/index.html ./
COPY clients/js-example/src ./src
RUN npm run build --silent

# --- the dependencies, in a venv copied whole into the final stage ----------------------------
FROM ${BASE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Only pyproject.toml decides this layer, so editing the code does not reinstall dependencies.
COPY pyproject.toml /tmp/pyproject.toml
RUN python3 -m venv /opt/venv \
    && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --only-binary=:all: -r /tmp/requirements.txt

# --- the runtime: no compiler, no npm, no pip cache; runs as an unprivileged user -------------
FROM ${BASE}
# A fixed numeric id, so volume ownership and `USER` agree on every host.
RUN groupadd --system --gid 10001 pusherd \
    && useradd --system --uid 10001 --gid pusherd --home-dir /var/lib/pusherd \
       --create-home --shell /usr/sbin/nologin pusherd
COPY --from=deps /opt/venv /opt/venv
# The code runs from /app (not site-packages): pusherd serves the scoreboard from
# <source root>/clients/js-example/dist, next to its own package.
COPY pusherd /app/pusherd
COPY poller /app/poller
COPY auth /app/auth
COPY --from=scoreboard /build/dist /app/clients/js-example/dist
COPY deploy/docker/entrypoint.sh /usr/local/bin/pusherd-entrypoint
COPY deploy/docker/healthcheck.py /usr/local/bin/pusherd-healthcheck
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PUSHERD_HOST=0.0.0.0 \
    PUSHERD_PORT=8080 \
    DATABASE_URL=sqlite:////var/lib/pusherd/pusherd-auth.sqlite3
# The auth service's SQLite key store (the default when DATABASE_URL is not a PostgreSQL URL).
VOLUME ["/var/lib/pusherd"]
WORKDIR /var/lib/pusherd
USER 10001:10001
EXPOSE 8080
# uvicorn and the poller both finish their work on SIGTERM (the runtime's graceful stop).
STOPSIGNAL SIGTERM
# GET /up answers while the process serves HTTP. Issue 14 adds /ready (Redis, SQL, fresh poller
# data, not draining); point PUSHERD_HEALTH_URL at it once it exists. The poller-only container
# sets PUSHERD_HEALTH_URL to its metrics port (deploy/compose.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python3", "/usr/local/bin/pusherd-healthcheck"]
ENTRYPOINT ["/usr/local/bin/pusherd-entrypoint"]
CMD ["all"]
