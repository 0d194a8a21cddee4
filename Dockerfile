# Production image: slim Python, non-root, the `portal` command as entry point.
# Build: docker build -t patient-portal-api .   Run: see docker-compose.yml and docs/operations.md.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY handlers ./handlers
COPY models ./models
COPY security ./security
COPY migrations ./migrations
COPY openapi ./openapi
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
# STORAGE_PATH is absolute: its default (var/storage) would resolve under WORKDIR, outside the
# one directory the portal user may write (STORAGE_TYPE=local only; compose uses S3).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    STORAGE_PATH=/var/lib/portal/storage \
    PROMETHEUS_MULTIPROC_DIR=/tmp/portal-metrics
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin portal \
    && mkdir -p /var/lib/portal/storage && chown portal /var/lib/portal/storage
USER portal
WORKDIR /var/lib/portal
EXPOSE 3000
# Shell form, so that it asks the port the server was given.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/health', timeout=2).status != 200)"
# WORKERS: processes per container (about one per core); replicas scale across hosts.
CMD ["sh", "-c", "exec portal serve --host \"$HOST\" --port \"$PORT\" --workers \"${WORKERS:-2}\""]
