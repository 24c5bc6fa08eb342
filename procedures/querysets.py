import re

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, TextField, Value, When
from django.utils.html import escape

from irlearn.content import PublishableQuerySet
from irlearn.search import (
    search_query_clean,
    search_word_is_whole,
    search_word_lookup,
    search_words,
    search_words_pattern,
)

# Characters that mean something in Markdown, stripped from search snippets.
MARKDOWN_NOISE = re.compile(r"[*_#`>\[\]]+")
# Sentinels that cannot occur in editor text; swapped for <mark> after escaping.
MARK_START, MARK_END = "\x02", "\x03"
SNIPPET_FIELDS = ["summary", "what_it_is", "indications", "technique"]
# How alike a misspelt word and a word of a title must be (pg_trgm word_similarity, 0-1):
# "nefrostomy" and "Nephrostomy" score 0.55, unrelated words near 0.
TRIGRAM_THRESHOLD = 0.45
# The best matches shown on the search page.
MAX_RESULTS = 25


def exact_match(query: str) -> Case:
    """2 when ``query`` is the abbreviation ("PTC"), 1 when it is the title: these rank first."""
    return Case(
        When(abbreviation__iexact=query, then=Value(2)),
        When(title__iexact=query, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def highlight(text: str) -> str:
    """HTML for a snippet whose matches are wrapped in the sentinels: escaped, then marked."""
    text = MARKDOWN_NOISE.sub("", text)
    return escape(text).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


class ProcedureQuerySet(PublishableQuerySet):
    def in_category(self, category):
        return self.filter(category=category)

    def guided_by(self, modality_slug):
        return self.filter(guidance__slug=modality_slug)

    def for_listing(self):
        """What a list of procedures shows: title, abbreviation, summary, category, guidance."""
        return (
            self.select_related("category")
            .prefetch_related("guidance")
            .only("title", "slug", "abbreviation", "summary", "status", "category")
        )

    def search_vocabulary(self) -> list[str]:
        """The names of published procedures, for the search page's spelling help: titles,
        abbreviations and other names."""
        names = []
        for title, abbreviation, also_known_as in self.published().values_list(
            "title", "abbreviation", "also_known_as"
        ):
            names += [title, abbreviation, *also_known_as.split(",")]
        return names

    def search(self, query: str):
        """Published procedures matching ``query``, best first, each with a ``snippet`` (HTML).

        On PostgreSQL: weighted full-text search (title and abbreviation above summary above
        body), ranked, with highlighted snippets, plus trigram similarity on the title so that a
        misspelling ("nefrostomy") still finds its procedure. On SQLite: every word must appear
        somewhere (a word of three letters or fewer as a whole word: "RIG" is not in "right"),
        and title matches come first. On both, an exact abbreviation ("PTC") wins.
        """
        query = search_query_clean(query)
        if not query:
            return []
        procedures = self.published().select_related("category").prefetch_related("guidance")
        if connection.vendor == "postgresql":
            return self._search_postgresql(procedures, query)
        return self._search_simple(procedures, query)

    @staticmethod
    def _search_postgresql(procedures, query):
        from django.contrib.postgres.search import (
            SearchHeadline,
            SearchQuery,
            SearchRank,
            TrigramWordSimilarity,
        )
        from django.db.models.functions import Concat

        tsquery = SearchQuery(query, search_type="websearch", config="english")
        matches = Q(search_vector=tsquery) | Q(abbreviation__iexact=query)
        # Three letters are too few for similarity to mean anything: "rig" is as like "right".
        if any(not search_word_is_whole(word) for word in search_words(query)):
            matches |= Q(similarity__gte=TRIGRAM_THRESHOLD)
        ranked = (
            procedures.annotate(
                exact=exact_match(query),
                rank=SearchRank(F("search_vector"), tsquery),
                similarity=TrigramWordSimilarity(query, "title"),
            )
            .filter(matches)
            .order_by("-exact", "-rank", "-similarity", "title")
            .values_list("pk", flat=True)[:MAX_RESULTS]
        )
        # Ranking is cheap; a highlighted snippet costs a few milliseconds a row, so snippets
        # are made in a second query for the results shown, not for every match.
        order = {pk: position for position, pk in enumerate(ranked)}
        listed = procedures.filter(pk__in=order).only(
            "title", "slug", "abbreviation", "summary", "status", "category"
        )
        results = listed.annotate(
            headline=SearchHeadline(
                Concat(
                    *[part for f in SNIPPET_FIELDS for part in (F(f), Value(" "))],
                    output_field=TextField(),
                ),
                tsquery,
                config="english",
                start_sel=MARK_START,
                stop_sel=MARK_END,
                max_words=35,
                min_words=15,
                max_fragments=2,
                fragment_delimiter=" … ",
            )
        )
        results = sorted(results, key=lambda procedure: order[procedure.pk])
        for procedure in results:
            procedure.snippet = highlight(procedure.headline)
        return results

    @staticmethod
    def _search_simple(procedures, query):
        terms = search_words(query)
        if not terms:
            return []
        fields = ["title", "abbreviation", "also_known_as", *SNIPPET_FIELDS]
        for term in terms:
            matches = Q()
            for field in fields:
                matches |= search_word_lookup(field, term)
            procedures = procedures.filter(matches)
        title_hits = Q()
        for term in terms:
            title_hits |= search_word_lookup("title", term) | Q(abbreviation__iexact=term)
        results = list(
            procedures.annotate(
                exact=exact_match(query),
                in_title=Case(When(title_hits, then=Value(1)), default=Value(0)),
            ).order_by("-exact", "-in_title", "title")[:MAX_RESULTS]
        )
        pattern = search_words_pattern(terms)
        for procedure in results:
            procedure.snippet = _snippet(procedure, pattern)
        return results


def _snippet(procedure, pattern) -> str:
    """About 30 words around the first match in the summary or body, matches marked."""
    for field in SNIPPET_FIELDS:
        text = " ".join(getattr(procedure, field).split())
        found = pattern.search(text)
        if found:
            start = max(0, found.start() - 90)
            end = min(len(text), found.end() + 140)
            text = ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
            return highlight(pattern.sub(lambda m: f"{MARK_START}{m.group(0)}{MARK_END}", text))
    return escape(procedure.summary)
