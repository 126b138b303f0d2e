"""gunicorn's settings: read from the working directory (/app in the image) by every `gunicorn` there.

Sized for the machine it runs on (docs/performance.md, "gunicorn"): sync workers, each serving one request
at a time; a request here is CPU work in Python between short database and cache round trips, so one worker
per core plus one keeps the cores busy while a worker waits on PostgreSQL or Redis, and more only adds
memory and database connections. WEB_CONCURRENCY (gunicorn's own variable) or --workers overrides it.
"""

import os

# Residents' mobile numbers are masked in the access and error logs (charity/logsafety.py, docs/security.md).
logger_class = "charity.logsafety.GunicornLogger"

workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
# The app is loaded once in the master and each worker is forked from it: a new worker serves at once
# instead of spending a second and a half importing Django and the apps, with its requests waiting.
preload_app = True
# A worker is replaced after about this many requests: memory a library leaks cannot pile up for weeks. At
# 5,000 (and 500 of jitter) both workers were replaced together every 12 s under load, each time stalling
# requests for 1.5 s (p99 1.4-1.7 s in bench/http_load.py); at this size, and spread by the jitter, a busy
# hour replaces each a few times, a quiet week not at all.
max_requests = 100_000
max_requests_jitter = 20_000
# A request still running after 30 s (a stuck query) is killed and its worker replaced; a statement import
# of 100,000 rows runs in a Celery task, so no request needs longer (docs/performance.md).
timeout = 30
graceful_timeout = 30
# The workers' heartbeat files in memory, not on the container's overlay file system, where a slow disk
# write can make gunicorn kill a healthy worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
