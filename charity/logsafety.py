"""Keep residents' mobile numbers out of logs: a logging filter, and gunicorn's access log through it.

A mobile number reaches a URL when staff search the admin by it (`?q=13900000001`) or follow a link that
carries it; the request line and the referer then land in the access log of the development server
(`django.server`), of Django's error log (`django.request`) and of gunicorn (`gunicorn.access`). The filter
rewrites each record's message with every mainland mobile number masked (139****0001) before any handler
writes it. See docs/security.md.
"""

import logging
import re

try:
    from gunicorn.glogging import Logger as _GunicornBaseLogger
except ImportError:  # gunicorn is a production dependency; the filter works without it
    _GunicornBaseLogger = None

# 11 digits starting 1[3-9], not part of a longer run of digits (a receipt or an id stays whole).
MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_mobiles(text: str) -> str:
    """Return `text` with every mainland mobile number in it masked as 139****0001."""
    return MOBILE_RE.sub(r"\1****\3", text)


class MaskMobileFilter(logging.Filter):
    """Mask mobile numbers in a log record's message (formatted once, here, with its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's problem, not ours
            return True
        masked = mask_mobiles(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


if _GunicornBaseLogger is not None:

    class GunicornLogger(_GunicornBaseLogger):
        """gunicorn's logger with the access and error logs masked (gunicorn.conf.py: `logger_class`)."""

        def setup(self, cfg):
            super().setup(cfg)
            for log in (self.access_log, self.error_log):
                if not any(isinstance(f, MaskMobileFilter) for f in log.filters):
                    log.addFilter(MaskMobileFilter())
