# Production image of consent_service. The container runs migrations, then serves with uvicorn.
# Configuration comes from CONSENT_* environment variables (see docs/operations.md); the image
# contains no secret and refuses to start in production mode without CONSENT_MASTER_KEY.
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md alembic.ini ./
COPY consent_service ./consent_service
COPY alembic ./alembic
# The server extra: the base package alone is the offline verifier (docs/studios.md).
RUN python -m venv /opt/venv && /opt/venv/bin/pip install ".[server]"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app consent
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY alembic ./alembic
COPY consent_service ./consent_service
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CONSENT_ENV=production \
    CONSENT_DATA_DIR=/var/lib/consent
RUN mkdir -p /var/lib/consent && chown consent /var/lib/consent
USER consent
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# `serve` applies migrations before it listens (--no-migrate to skip in multi-replica rollouts
# where a separate job runs `consent-service db upgrade`).
CMD ["consent-service", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
