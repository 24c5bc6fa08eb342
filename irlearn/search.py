"""What a visitor types into a search box, made fit for a query."""

import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# More words than this add nothing to a search but cost a condition each.
MAX_TERMS = 10


def search_query_clean(query: str) -> str:
    """``query`` without control characters (they mean nothing in a search, and PostgreSQL
    refuses NUL outright), its words separated by single spaces."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", query).split())


def search_terms(query: str) -> list[str]:
    """The first MAX_TERMS words of ``query``, cleaned as by search_query_clean()."""
    return search_query_clean(query).split()[:MAX_TERMS]
