"""Races: the same call from two threads at the same moment (a double click, two tabs, two
workers). PostgreSQL only: threads cannot share SQLite's in-memory test database."""

import threading

from django.db import connection


def at_once(function, *, times: int = 2, timeout: float = 60) -> list:
    """Call ``function`` from ``times`` threads released together; return their results, in the
    order the calls finished. Fails the test if a call raised or did not finish in ``timeout``
    seconds."""
    start = threading.Barrier(times)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(function())
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()  # each thread has a connection of its own

    threads = [threading.Thread(target=worker) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert errors == []
    assert len(results) == times
    return results
