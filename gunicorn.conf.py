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
# A worker is replaced after about this many requests: memory a library leaks cannot pile up for weeks.
max_requests = 5000
max_requests_jitter = 500
# A request still running after 30 s (a stuck query) is killed and its worker replaced; a statement import
# of 100,000 rows runs in a Celery task, so no request needs longer (docs/performance.md).
timeout = 30
graceful_timeout = 30
# The workers' heartbeat files in memory, not on the container's overlay file system, where a slow disk
# write can make gunicorn kill a healthy worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
