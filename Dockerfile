# CI Orchestrator, the GitHub App's webhook server.
#   docker build -t ci-orchestrator .
#   docker run -p 3000:3000 -e APP_ID=… -e PRIVATE_KEY="$(cat key.pem)" -e WEBHOOK_SECRET=… \
#     -v ci-orchestrator-data:/data ci-orchestrator
# One instance keeps its SQLite store in /data; for several, set DATABASE_URL (see compose.yaml and README.md).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
    && mkdir /data && chown app:app /data
COPY --from=build /install /usr/local
ENV DATA_DIR=/data HOST=0.0.0.0 PORT=3000 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER app
WORKDIR /home/app
VOLUME ["/data"]
EXPOSE 3000
# Ready once the store is migrated and the dispatcher runs; 503 while starting or draining after SIGTERM.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '3000'), timeout=4)"]
# SIGTERM lets deliveries in hand finish for SHUTDOWN_GRACE_SECONDS (25 s); the rest stay queued in the store.
STOPSIGNAL SIGTERM
CMD ["ci-orchestrator", "serve"]
