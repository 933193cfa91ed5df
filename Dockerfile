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

# Dependencies first, in their own layer, so code changes do not reinstall TensorFlow. Removed in the same
# layer, as nothing at run time uses them: TensorFlow's C++ headers (tensorflow/include, ~290 MB, for
# compiling custom ops) and libclang (~60 MB, required by TensorFlow's package, imported by none of it).
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
    && pip uninstall --yes libclang \
    && rm -rf "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tensorflow/include"

# Only what the app needs (see .dockerignore), owned by root: the app user cannot change the code or
# the shipped model. Everything it writes (saved runs, the active-model choice, caches) goes to /data.
COPY . .
RUN useradd --system --uid 10001 --no-create-home --home-dir /data app \
    && mkdir -p /data \
    && chown app:app /data
USER 10001
VOLUME ["/data"]

EXPOSE 5001
# Python asks, not curl: curl and its libraries would add ~87 MB to the image for this one line.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://localhost:5001/_stcore/health', timeout=4)"]

CMD ["streamlit", "run", "dashboard/server.py", "--server.port=5001", "--server.address=0.0.0.0"]
