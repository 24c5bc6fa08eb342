"""What a visitor types into a search box, made fit for a query; the apps' sections of the site
search; and the spelling help of the search page, which works on every database.

Spelling help comes from a vocabulary of the words in published titles, abbreviations and other
names, which each section supplies. It is cached as plain data under the content version of the
page cache (irlearn/pagecache.py), so any change to content builds it afresh on the next search
that needs it. Only a search that found nothing needs it: a search that finds something costs no
more than its sections' own queries. With a per-process cache (the default locmem), another
process may suggest from a vocabulary up to VOCABULARY_SECONDS old; a suggestion is only shown
when it finds something, so an old vocabulary can miss a new word but never mislead.
"""

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Q

from irlearn.pagecache import content_version

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# More words than this add nothing to a search but cost a condition each.
MAX_TERMS = 10
# Words this short are abbreviations or small words: they match whole words only (or their
# plural), so that "RIG" finds the gastrostomy and not "right", "rigid" or "trigger". Longer words
# match anywhere in a word, so that "embolisation" still finds "chemoembolisation".
WHOLE_WORD_MAX = 3
NOT_WORD = re.compile(r"[\W_]+")
EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")
# How alike a mistyped word and a word of the vocabulary must be (difflib's ratio, 0-1):
# "nefrostomy" and "nephrostomy" score 0.86, "tueb" and "tube" 0.75, "nefrostomy" and
# "gastrostomy" 0.57. A suggestion is only used when it finds something.
SUGGESTION_CUTOFF = 0.75
# Shorter words are not corrected: "rig" is as close to "pig" as to "RIG".
SUGGESTION_MIN_LENGTH = 4
VOCABULARY_KEY = "search:vocabulary:{version}"
VOCABULARY_SECONDS = 10 * 60


def search_query_clean(query: str) -> str:
    """``query`` without control characters (they mean nothing in a search, and PostgreSQL
    refuses NUL outright), its words separated by single spaces."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", query).split())


def search_terms(query: str) -> list[str]:
    """The first MAX_TERMS words of ``query``, cleaned as by search_query_clean()."""
    return search_query_clean(query).split()[:MAX_TERMS]


def search_words(query: str) -> list[str]:
    """The first MAX_TERMS words of ``query`` without their punctuation: "IR(ME)R, 2017!" gives
    IR, ME, R and 2017. What the simple search (SQLite, and e-learning on every database)
    looks for."""
    return [word for word in NOT_WORD.split(search_query_clean(query)) if word][:MAX_TERMS]


def search_word_is_whole(word: str) -> bool:
    """Whether ``word`` must match a whole word (see WHOLE_WORD_MAX)."""
    return len(word) <= WHOLE_WORD_MAX


def search_word_lookup(field_name: str, word: str) -> Q:
    """Rows whose ``field_name`` contains ``word`` (case aside): a short word as a whole word or
    its plural, a longer one anywhere. The same on SQLite and PostgreSQL."""
    contains = Q(**{f"{field_name}__icontains": word})
    if not search_word_is_whole(word):
        return contains
    # The pattern means the same to Python's re (Django's REGEXP on SQLite) and to PostgreSQL's
    # regular expressions. The plain LIKE comes first so that only rows holding the letters at
    # all are matched against it.
    pattern = rf"(^|\W){re.escape(word)}s?(\W|$)"
    return contains & Q(**{f"{field_name}__iregex": pattern})


def search_words_pattern(words: Iterable[str]) -> re.Pattern | None:
    """A Python pattern that finds ``words`` in text as search_word_lookup() does in the
    database (to mark them in a snippet), or None for no words."""
    parts = [
        rf"(?<!\w){re.escape(word)}s?(?!\w)" if search_word_is_whole(word) else re.escape(word)
        for word in words
    ]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True)
class SearchSection:
    """One app's part of the site search (the search page of irlearn.pages).

    ``find(query)`` returns the app's results by kind, best first: ``{"courses": [...],
    "modules": [...]}``; the page puts each list in its context under that name. ``kinds`` names
    each kind in the singular, in the order the page counts them ("2 courses and 1 module").
    ``template`` shows the app's results on the page. ``vocabulary()`` returns the names of the
    app's published content (titles, abbreviations, other names), from which the page suggests
    a spelling when a search finds nothing.
    """

    find: Callable[[str], dict[str, list]]
    kinds: dict[str, str]
    template: str
    vocabulary: Callable[[], Iterable[str]] = field(default=lambda: [], compare=False)


SEARCH_SECTIONS: list[SearchSection] = []


def register_search_section(section: SearchSection) -> None:
    """Show ``section`` on the search page, after the sections registered before it. Each app
    registers its own in its AppConfig.ready(): this module imports no app."""
    if section not in SEARCH_SECTIONS:
        SEARCH_SECTIONS.append(section)


def _compact(word: str) -> str:
    """``word`` folded to what a visitor might type for it: IR(ME)R, IRMER and irmer are one."""
    return NOT_WORD.sub("", word).casefold()


def _spelling(word: str) -> str:
    """How a suggestion spells ``word``: abbreviations as written (RIG, IR(ME)R), other words
    in lower case ("Nephrostomy" at the start of a title is "nephrostomy" in a query)."""
    if NOT_WORD.search(word) or sum(letter.isupper() for letter in word) > 1:
        return word
    return word.lower()


def search_vocabulary_build(names: Iterable[str]) -> dict[str, list[str]]:
    """The words of ``names`` by their compact form, each with its spellings: ``{"irmer":
    ["IR(ME)R"], "nephrostomy": ["nephrostomy"]}``. Plain data, fit for the cache."""
    vocabulary: dict[str, list[str]] = {}
    for name in names:
        for token in name.split():
            word = EDGE_PUNCTUATION.sub("", token)
            key = _compact(word)
            if len(key) < 2 or key.isdigit():
                continue
            spellings = vocabulary.setdefault(key, [])
            spelling = _spelling(word)
            if spelling.casefold() not in {known.casefold() for known in spellings}:
                spellings.append(spelling)
    return vocabulary


def search_vocabulary() -> dict[str, list[str]]:
    """The vocabulary of every section's published content (search_vocabulary_build()),
    cached until content changes."""
    key = VOCABULARY_KEY.format(version=content_version())
    vocabulary = cache.get(key)
    if vocabulary is None:
        vocabulary = search_vocabulary_build(
            name for section in SEARCH_SECTIONS for name in section.vocabulary() if name
        )
        cache.set(key, vocabulary, VOCABULARY_SECONDS)
    return vocabulary


def search_suggestion(query: str) -> str:
    """``query`` with each word the content does not use put right, or "" when there is nothing
    to put right. A word the content spells another way takes that spelling (IRMER is
    IR(ME)R); a mistyped word takes the closest word of the vocabulary (nefrostomy is
    nephrostomy); any other word is kept."""
    vocabulary = search_vocabulary()
    words = search_terms(query)
    suggested = []
    for word in words:
        core = EDGE_PUNCTUATION.sub("", word)
        key = _compact(core)
        spellings = vocabulary.get(key)
        if spellings is None and len(key) >= SUGGESTION_MIN_LENGTH:
            close = difflib.get_close_matches(key, vocabulary, n=1, cutoff=SUGGESTION_CUTOFF)
            spellings = vocabulary[close[0]] if close else None
        if not spellings or core.casefold() in {known.casefold() for known in spellings}:
            suggested.append(word)
        else:
            suggested.append(spellings[0])
    suggestion = " ".join(suggested)
    return suggestion if suggestion.casefold() != " ".join(words).casefold() else ""


@dataclass
class SiteSearch:
    """What the search page shows for a query: ``results`` by kind (``{"procedures": [...],
    ...}``), ``counts`` as (number, noun) in the sections' order, the ``query`` the results are
    for, what the visitor ``typed``, and ``suggestion``, a spelling that finds more."""

    query: str
    typed: str
    results: dict[str, list]
    counts: list[tuple[int, str]]
    suggestion: str = ""

    @property
    def result_count(self) -> int:
        return sum(count for count, _noun in self.counts)

    @property
    def corrected(self) -> bool:
        """The results are for a corrected spelling, not for what was typed."""
        return self.query != self.typed


def _search_sections(query: str) -> SiteSearch:
    results, counts = {}, []
    for section in SEARCH_SECTIONS:
        found = section.find(query) if query else dict.fromkeys(section.kinds, [])
        results.update(found)
        counts += [(len(found[kind]), noun) for kind, noun in section.kinds.items()]
    return SiteSearch(query=query, typed=query, results=results, counts=counts)


def site_search(query: str, *, as_typed: bool = False) -> SiteSearch:
    """Every section's results for ``query``. When it finds nothing and a corrected spelling
    would find something, the results are for that spelling, as search engines do ("Showing
    results for nephrostomy"); with ``as_typed``, they stay empty and the spelling is only
    offered ("Did you mean nephrostomy?"). A search that finds something never reads the
    vocabulary."""
    found = _search_sections(query)
    if not query or found.result_count:
        return found
    suggestion = search_suggestion(query)
    if not suggestion:
        return found
    corrected = _search_sections(suggestion)
    if not corrected.result_count:
        return found
    if as_typed:
        found.suggestion = suggestion
        return found
    corrected.typed = query
    return corrected
