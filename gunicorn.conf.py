"""gunicorn's settings: read from the working directory (/app in the image) by every `gunicorn` there."""

# Residents' mobile numbers are masked in the access and error logs (charity/logsafety.py, docs/security.md).
logger_class = "charity.logsafety.GunicornLogger"
