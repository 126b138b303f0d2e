"""The database session store, refusing a session key Django could not have issued.

Django issues 32 lowercase letters and digits; its own check only asks for 8 characters. A cookie such as
`sessionid="abcdefgh\\000…"` (a quoted cookie may carry an octal escape) then reached the session query,
and PostgreSQL refuses a NUL byte in text: every page answered 500. A malformed key is now no session.
"""

import re

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_SESSION_KEY_RE = re.compile(r"[a-z0-9]{8,64}", re.ASCII)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return bool(key) and bool(_SESSION_KEY_RE.fullmatch(key)) and super()._validate_session_key(key)
