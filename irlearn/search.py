"""What a visitor types into a search box, made fit for a query; and the apps' sections of the
site search."""

import re
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SearchSection:
    """One app's part of the site search (the search page of irlearn.pages).

    ``find(query)`` returns the app's results by kind, best first: ``{"courses": [...],
    "modules": [...]}``; the page puts each list in its context under that name. ``kinds`` names
    each kind in the singular, in the order the page counts them ("2 courses and 1 module").
    ``template`` shows the app's results on the page.
    """

    find: Callable[[str], dict[str, list]]
    kinds: dict[str, str]
    template: str


SEARCH_SECTIONS: list[SearchSection] = []


def register_search_section(section: SearchSection) -> None:
    """Show ``section`` on the search page, after the sections registered before it. Each app
    registers its own in its AppConfig.ready(): this module imports no app."""
    if section not in SEARCH_SECTIONS:
        SEARCH_SECTIONS.append(section)
