# newcomer-bot: the web server for Telegram and WhatsApp (python -m bot serve).
#   docker build -t newcomer-bot .
#   docker run -p 8080:8080 -v newcomer-bot-data:/data --env-file newcomer-bot.env newcomer-bot
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements/serve.lock ./requirements/serve.lock
RUN /venv/bin/pip install --require-hashes -r requirements/serve.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN /venv/bin/pip install --no-deps .
COPY knowledge ./knowledge
COPY locales ./locales
COPY seeds ./seeds
# Catalogs compiled now, so the server does not compile them at every start.
# The vectors of the knowledge base: complete from the committed artifact (kb embed encodes
# only texts it lacks), so the server never encodes a passage at start-up.
RUN /venv/bin/pybabel compile -D messages -d locales \
 && /venv/bin/python -m bot kb check \
 && /venv/bin/python -m bot kb embed

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BOT_KNOWLEDGE_DIR=/app/knowledge \
    BOT_LOCALES_DIR=/app/locales \
    BOT_DATA_DIR=/data
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin newcomer \
 && mkdir /data && chown newcomer /data && chmod 700 /data
COPY --from=build /venv /venv
COPY --from=build /app/knowledge /app/knowledge
COPY --from=build /app/locales /app/locales
COPY --from=build /app/seeds /app/seeds
WORKDIR /app
USER newcomer
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["python", "-m", "bot", "serve", "--host", "0.0.0.0", "--port", "8080"]
