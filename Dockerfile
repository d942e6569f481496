# xscreen's screening service: the `serve` install only (ONNX Runtime, no torch), as a non-root
# user, state (blobs, keys, registered models) on a volume at $XSCREEN_HOME.
#
#   docker build -t xscreen:0.1.0 .
#   docker compose up -d            # with PostgreSQL: see compose.yaml and docs/deploy.md
#
# PYTHON_IMAGE: any Debian-based Python 3.11+ image whose `python3` can make a venv; sites with
# their own registry (air-gapped) pass theirs: --build-arg PYTHON_IMAGE=registry.local/python:3.11
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# the venv is the one thing the runtime stage takes: no compiler, no source, no pip cache
RUN python3 -m venv /opt/xscreen
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY xscreen xscreen
COPY datasets datasets
COPY models models
COPY training training
COPY serving serving
RUN /opt/xscreen/bin/pip install --no-cache-dir --disable-pip-version-check ".[serve]" \
 && cd / && /opt/xscreen/bin/python -c "import xscreen.serving.app, sys; \
sys.exit('torch must not be in the serving image' if 'torch' in sys.modules else 0)"

FROM ${PYTHON_IMAGE}
ARG XSCREEN_UID=10001
RUN useradd --system --uid ${XSCREEN_UID} --user-group --no-create-home \
        --home-dir /var/lib/xscreen xscreen \
 && mkdir -p /var/lib/xscreen && chown xscreen:xscreen /var/lib/xscreen
COPY --from=build /opt/xscreen /opt/xscreen
ENV PATH=/opt/xscreen/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    XSCREEN_HOME=/var/lib/xscreen
# XSCREEN_DATABASE_URL: empty means SQLite in $XSCREEN_HOME (one container, trials only); in
# production a PostgreSQL URL, e.g. postgresql+psycopg://xscreen:PASSWORD@db:5432/xscreen
VOLUME ["/var/lib/xscreen"]
USER xscreen
WORKDIR /var/lib/xscreen
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["xscreen", "serve", "--host", "0.0.0.0", "--port", "8000"]
