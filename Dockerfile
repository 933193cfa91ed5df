# The dashboard on port 5001, following Streamlit's Docker guide
# (https://docs.streamlit.io/deploy/tutorials/docker): slim Python, WORKDIR /app, healthcheck on
# /_stcore/health. Build: docker build -t digits-dashboard .   Run: docker compose up -d
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    DIGITS_DATA_DIR=/data \
    KERAS_HOME=/data/keras \
    MPLCONFIGDIR=/data/.matplotlib \
    HOME=/data \
    PYTHONPATH=/app

# The code runs from /app, found through PYTHONPATH (what `pip install -e .` does for a checkout), so the
# image needs no build step of its own and the dependency layer below stays cached across code changes.
WORKDIR /app

# curl is only for the HEALTHCHECK. Not version-pinned: Debian's security updates for it are wanted,
# and the base image tag already fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, in their own layer, so code changes do not reinstall TensorFlow.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# Only what the app needs (see .dockerignore), owned by root: the app user cannot change the code or
# the shipped model. Everything it writes (saved runs, the active-model choice, caches) goes to /data.
COPY . .
RUN useradd --system --uid 10001 --no-create-home --home-dir /data app \
    && mkdir -p /data \
    && chown app:app /data
USER 10001
VOLUME ["/data"]

EXPOSE 5001
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "--fail", "--silent", "--show-error", "http://localhost:5001/_stcore/health"]

CMD ["streamlit", "run", "dashboard/server.py", "--server.port=5001", "--server.address=0.0.0.0"]
