# The platform's one image: web (gunicorn), Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim

# The wheel built by `pip install .` holds the Python packages only; templates/, static/ and locale/
# (with the committed .mo files) stay beside them in /app, where settings.BASE_DIR must point. Putting
# /app first on the path makes every process (gunicorn, celery, manage.py) import the same copy.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# Certificate PDFs (volunteers/certificates.py): WeasyPrint needs pango, and the CJK font it embeds
# (settings.CERTIFICATE_FONT_PATH) comes from fonts-noto-cjk.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md manage.py gunicorn.conf.py ./
COPY charity ./charity
COPY funds ./funds
COPY resources ./resources
COPY needs ./needs
COPY governance ./governance
COPY volunteers ./volunteers
RUN pip install . && rm -rf build ./*.egg-info

COPY templates ./templates
COPY static ./static
COPY locale ./locale

# Run as an unprivileged user; it may write only the collected static files.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin charity \
    && mkdir -p /app/staticfiles \
    && chown charity:charity /app/staticfiles
USER charity

EXPOSE 8000
CMD ["gunicorn", "charity.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
