# confbot: `confbot run` as an unprivileged user. Settings come from the environment (or a .env
# file mounted at /app/.env); nothing secret is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && useradd --create-home --uid 10001 confbot \
    && mkdir -p /data \
    && chown confbot:confbot /data

USER confbot
# SQLite on a volume by default; point CONFBOT_DATABASE_URL at PostgreSQL for several replicas.
ENV CONFBOT_DATABASE_URL=sqlite:////data/confbot.db \
    CONFBOT_HTTP_PORT=3000 \
    CONFBOT_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 3000

# /healthz answers 503 while the Kazoo stream or the Slack connection is down.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CONFBOT_HTTP_PORT', '3000'), timeout=4)"

CMD ["confbot", "run"]
