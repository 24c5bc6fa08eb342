"""Hostile input never gets a server error.

Hypothesis fills every public form, every query parameter of every public page, and every admin
changelist's filters, search, ordering and date hierarchy (as a superuser) with awkward values:
NUL bytes, lone surrogates, huge numbers, impossible dates, very long text, markup. Each answer
must be below 500; a clear 400, 404 or form error is what a user should get.

The targets are found by crawling the site (tests/crawl.py), so a new page, form or filter is
fuzzed without changing this file. Examples per target are bounded so CI stays fast; set
HYPOTHESIS_PROFILE=deep for a long run.
"""

import os
from collections import defaultdict
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from django.contrib import admin
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.crawl import admin_entries, crawl_admin, crawl_public
from tests.factories import SuperuserFactory

hypothesis_settings.register_profile(
    "ci",
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI fails for a change, not by luck
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "deep", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PROFILE = hypothesis_settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

AWKWARD = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "0",
    "-1",
    "99999",
    "9999",
    "10000",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "2026-13-45",
    "' OR '1'='1",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "\U0001f642",
    "x" * 3000,
    "[]",
    "null",
    "٣",
]
VALUES = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40), st.integers().map(str))
# Parameters many list and search pages read, tried on every page.
COMMON_KEYS = ["q", "page", "p", "o", "next", "sort", "e"]


def encode(pairs) -> str:
    """A query string or form body as a client could send it, lone surrogates included."""
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")


# Each of these alone, in each field: the values that reached the database or the calendar.
SPOTLIGHT = ["a\x00b", "\ud800", "99999999999999999999"]


def fuzz(client, method, path, fields, *, optional=(), examples=()):
    """Send ``path`` awkward values and fail on any 5xx.

    ``fields`` (name -> default) are always sent, ``optional`` names sometimes. First each
    SPOTLIGHT value alone in each field, and the given ``examples``; then Hypothesis' choice.
    """

    def send(pairs):
        if method == "post":
            response = client.post(
                path, data=encode(pairs), content_type="application/x-www-form-urlencoded"
            )
        else:
            response = client.get(f"{path}?{encode(pairs)}")
        assert response.status_code < 500, (method, path, pairs)

    for key in [*fields, *optional]:
        for value in SPOTLIGHT:
            send([(key, value)])
    for example in examples:
        send(list(example.items()))

    drawn = {key: st.one_of(st.just(default), VALUES) for key, default in fields.items()}
    drawn |= {key: st.one_of(st.none(), VALUES) for key in optional}

    @PROFILE
    @given(values=st.fixed_dictionaries(drawn), stray=st.none() | st.tuples(VALUES, VALUES))
    def check(values, stray):
        pairs = [(key, value) for key, value in values.items() if value is not None]
        send([*pairs, stray] if stray else pairs)

    check()


def query_keys(crawl):
    """Each page's path -> the query parameters the site's own links and GET forms give it."""
    keys = defaultdict(dict)
    for url, response in crawl.seen.items():
        parts = urlsplit(url)
        keys[parts.path].update(parse_qsl(parts.query, keep_blank_values=True))
        for link in getattr(response, "links", []):
            target = urlsplit(link)
            keys[target.path].update(parse_qsl(target.query, keep_blank_values=True))
    for form in crawl.forms.values():
        if form.method == "get":
            keys[urlsplit(form.action).path].update(form.fields)
    return keys


def session_ending(path):
    return "logout" in path or "delete" in path


@pytest.fixture
def quiet_client(client):
    client.raise_request_exception = False
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "learner"])
def test_public_forms_and_query_parameters_never_give_a_server_error(
    site_content, quiet_client, who
):
    if who == "learner":
        quiet_client.force_login(site_content)
    crawl = crawl_public(quiet_client)
    forms = [
        form
        for form in crawl.forms.values()
        if not urlsplit(form.action).path.startswith("/admin/") and not session_ending(form.action)
    ]
    assert any(form.method == "post" for form in forms), "the crawl should find forms"

    for form in forms:
        fuzz(quiet_client, form.method, urlsplit(form.action).path, form.fields)
    # One page of each kind: the same view under another slug reads the same parameters.
    pages = {}
    for path, keys in query_keys(crawl).items():
        if path.startswith("/") and not path.startswith(("/static/", "/media/", "/admin/")):
            pages.setdefault(page_kind(path), (path, keys))
    for path, keys in pages.values():
        if not session_ending(path):
            fuzz(quiet_client, "get", path, keys, optional=COMMON_KEYS)
    # Awkward values in place of each page's last path segment (slugs, ids, certificate codes).
    for path, _ in pages.values():
        head, _, tail = path.rstrip("/").rpartition("/")
        if head and tail:
            for value in [*SPOTLIGHT, "x" * 300, "%", "..", "0"]:
                url = f"{head}/{quote(value.encode('utf-8', 'surrogatepass'), safe='')}/"
                response = quiet_client.get(url)
                assert response.status_code < 500, url
                response = quiet_client.get(f"{url}pdf/")
                assert response.status_code < 500, f"{url}pdf/"


def page_kind(path):
    try:
        return resolve(path).route
    except Resolver404:
        return path


@pytest.mark.django_db
def test_admin_changelist_filters_and_search_never_give_a_server_error(site_content, quiet_client):
    user = SuperuserFactory()
    quiet_client.force_login(user)
    crawl, _ = crawl_admin(quiet_client, user)
    keys = query_keys(crawl)
    changelists = admin_entries(user)
    assert changelists
    for entry in changelists:
        path = entry["admin_url"]
        model_admin = admin.site.get_model_admin(entry["model"])
        optional = ["q", "o", "p", "e", "all", "_to_field", "_popup"]
        examples = []
        if field := model_admin.date_hierarchy:
            optional += [f"{field}__year", f"{field}__month", f"{field}__day"]
            for year in ["0", "1", "9998", "9999", "10000", "99999999999999999999"]:
                examples += [
                    {f"{field}__year": year},
                    {f"{field}__year": year, f"{field}__month": "12"},
                ]
        # The site's own links give each filter's real values; fuzz them one at a time.
        filters = {key: value for key, value in keys.get(path, {}).items() if key not in optional}
        fuzz(quiet_client, "get", path, {}, optional=[*filters, *optional], examples=examples)
