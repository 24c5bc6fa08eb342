"""Every row of every table, searched for what must not be there (the erasure tests).

A value counts as found when it is in a row as written, or in anything a token-like string in
the row decodes to: signed values (Django's signing, sessions, links) are base64, zlib-compressed
when they start with a dot, and only signed, not encrypted.
"""

import base64
import binascii
import re
import zlib

from django.db import connection

# Runs of the URL-safe and the standard base64 alphabets.
BASE64_RUNS = [
    (re.compile(r"[A-Za-z0-9_-]{8,}"), base64.urlsafe_b64decode),
    (re.compile(r"[A-Za-z0-9+/]{8,}={0,2}"), base64.b64decode),
]


def readings(text: str):
    """``text`` itself, then whatever each base64 run in it decodes (and decompresses) to."""
    yield text
    for pattern, decode in BASE64_RUNS:
        for run in pattern.findall(text):
            try:
                raw = decode(run.rstrip("=") + "=" * (-len(run.rstrip("=")) % 4))
            except (binascii.Error, ValueError):
                continue
            yield raw.decode("utf-8", "replace")
            try:
                inflated = zlib.decompress(raw)
            except zlib.error:
                continue
            yield inflated.decode("utf-8", "replace")


def _text(value) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def rows_holding(*values: str) -> list[tuple[str, str]]:
    """(table, row) for every row of every table that holds one of ``values`` (any case), as
    written or base64-encoded (compressed or not)."""
    wanted = [value.lower() for value in values]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                text = " | ".join(_text(value) for value in row)
                if any(value in reading.lower() for value in wanted for reading in readings(text)):
                    found.append((table, text[:500]))
    return found
