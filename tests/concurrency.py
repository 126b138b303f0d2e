"""Run actions at the same moment, each in its own thread and database connection (PostgreSQL tests)."""

import threading

from django.db import connection

from charity.errors import DomainError


def at_once(actions, *, outcome=lambda result: type(result).__name__, timeout: float = 120) -> list:
    """Release every action together (a barrier); return their outcomes, sorted: `outcome(result)` for a
    success (the result's class name unless told), a refused one's error code."""
    barrier = threading.Barrier(len(actions))
    outcomes, lock = [], threading.Lock()

    def call(action):
        try:
            barrier.wait(timeout=30)
            try:
                result = outcome(action())
            except DomainError as error:
                result = error.code
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return sorted(outcomes)
