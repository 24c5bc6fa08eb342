"""Middleware of the whole site."""

import re

from django.core.exceptions import SuspiciousOperation

# NUL cannot be stored in a PostgreSQL text value (the query fails with a 500), and a lone UTF-16
# surrogate cannot be encoded as UTF-8; no real link or form sends either.
UNREADABLE = re.compile("[\x00\ud800-\udfff]")


class UnreadableInput(SuspiciousOperation):
    """A request whose path or parameters hold characters no page can use (answered with 400)."""


class RejectUnreadableInputMiddleware:
    """Answer 400 to a request with NUL or a lone surrogate in its path, query or form fields.

    One check here instead of one in every view, form and admin filter: a NUL in a certificate
    code, a search box or an admin changelist filter would otherwise reach the database and fail
    there. Uploaded files are not looked at; only field names and values.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if UNREADABLE.search(request.path_info) or self._unreadable(request.GET):
            raise UnreadableInput("NUL or a lone surrogate in the path or query string")
        if request.method == "POST" and self._unreadable(request.POST):
            raise UnreadableInput("NUL or a lone surrogate in a form field")
        return self.get_response(request)

    @staticmethod
    def _unreadable(query_dict) -> bool:
        return any(
            UNREADABLE.search(key) or any(UNREADABLE.search(value) for value in values)
            for key, values in query_dict.lists()
        )
