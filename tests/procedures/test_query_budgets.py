"""The library's pages cost a fixed number of queries, however much the library holds."""

import itertools

import pytest
from django.urls import reverse

from procedures.models import Category, Procedure
from procedures.querysets import MAX_RESULTS
from tests.factories import CategoryFactory, FigureFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    """These budgets are for rendering a page; anonymous visitors usually get it from the page
    cache at no query at all (tests/test_pagecache.py)."""
    settings.PAGE_CACHE_SECONDS = 0


# The most queries any of these pages may run for an anonymous visitor. Raise it only on purpose:
# a query per procedure, figure or related procedure is exactly what this is here to catch.
PAGE_QUERIES = 8
# A logged-in learner adds the session and the user, and nothing more.
LOGGED_IN_QUERIES = 2
GUIDANCE = ["ultrasound", "ct", "fluoroscopy"]
PAGES = ["library", "library-filtered", "category", "procedure", "search"]


def build_library(size, start=0):
    """``size`` procedures in up to five categories, each with two figures, three imaging
    modalities and related procedures (the five after it, and a draft)."""
    categories = [CategoryFactory(slug=f"category-{n}") for n in range(min(size + start, 5))]
    procedures = [
        ProcedureFactory(
            title=f"Drainage procedure {n:02}",
            abbreviation=f"DP{n}",
            category=categories[n % len(categories)],
            guidance=GUIDANCE,
        )
        for n in range(start, start + size)
    ]
    for procedure in procedures:
        FigureFactory.create_batch(2, procedure=procedure)
    everything = list(Procedure.objects.published().order_by("pk"))
    for index, procedure in enumerate(everything):
        others = itertools.islice(itertools.cycle(everything), index + 1, index + 6)
        procedure.related.add(*[p for p in others if p != procedure])
    if start == 0:
        draft = ProcedureFactory(title="Drainage draft", category=categories[0], draft=True)
        everything[0].related.add(draft)
    return everything


def page_url(name):
    first = Procedure.objects.published().order_by("pk").first()
    return {
        "library": reverse("procedures:index"),
        "library-filtered": reverse("procedures:index") + "?guidance=ultrasound",
        "category": Category.objects.get(slug="category-0").get_absolute_url(),
        "procedure": first.get_absolute_url(),
        "search": reverse("pages:search") + "?q=drainage",
    }[name]


def get_page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response


def assert_full(response, name, size):
    """The page really shows what the budget is for."""
    content = response.content.decode()
    if name in {"library", "library-filtered"}:
        assert content.count('class="card h-100 procedure-card"') == size
    if name == "search":  # the best matches only
        assert content.count('class="card h-100 procedure-card"') == min(size, MAX_RESULTS)
    if name == "category":
        assert content.count('class="card h-100 procedure-card"') == len(
            range(0, size, min(size, 5))
        )
    if name == "procedure":
        assert content.count('class="figure-img') == 2
        assert len(response.context["related"]) == (0 if size == 1 else min(10, size - 1))
    if name != "procedure":
        assert content.count(">Fluoroscopy</span>") == content.count(
            'class="card h-100 procedure-card"'
        )


@pytest.mark.parametrize("size", [1, 50])
@pytest.mark.parametrize("name", PAGES)
def test_page_query_budget_for_visitors(client, django_assert_max_num_queries, name, size):
    build_library(size)
    url = page_url(name)

    with django_assert_max_num_queries(PAGE_QUERIES):
        response = get_page(client, url)

    assert_full(response, name, size)


@pytest.mark.parametrize("size", [1, 50])
@pytest.mark.parametrize("name", PAGES)
def test_page_query_budget_for_learners(learner_client, django_assert_max_num_queries, name, size):
    build_library(size)
    url = page_url(name)

    with django_assert_max_num_queries(PAGE_QUERIES + LOGGED_IN_QUERIES):
        get_page(learner_client, url)


@pytest.mark.parametrize("name", PAGES)
def test_page_runs_as_many_queries_for_fifty_procedures_as_for_one(
    client, django_assert_max_num_queries, name
):
    build_library(1)
    url = page_url(name)
    # Warm the caches the site shell uses (the footer's subscriber count), so that both
    # measurements count the page's own queries only.
    get_page(client, url)
    with django_assert_max_num_queries(PAGE_QUERIES) as one:
        get_page(client, url)

    build_library(49, start=1)
    with django_assert_max_num_queries(PAGE_QUERIES) as fifty:
        get_page(client, url)

    assert len(fifty) == len(one), [query["sql"] for query in fifty]
