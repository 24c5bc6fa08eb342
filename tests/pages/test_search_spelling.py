"""The search page's help with spelling and abbreviations, the same on SQLite and PostgreSQL:
a search that finds nothing shows the results of the spelling the content uses ("Showing
results for nephrostomy"), short words match whole words only ("RIG" is not in "right"), and
none of it costs a search that finds something a query more."""

import re

import pytest
from django.db import connection
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from courses.demo import course_catalogue_seed
from irlearn.stacks import phantoms
from procedures.demo import procedure_library_seed
from procedures.models import Procedure
from tests.factories import (
    CourseFactory,
    ImageStackFactory,
    LessonFactory,
    ModuleFactory,
    ProcedureFactory,
)

pytestmark = pytest.mark.django_db

SEARCH_URL = reverse("pages:search")
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL finds this misspelling by trigrams"
)


def search(client, query, **params):
    response = client.get(SEARCH_URL, {"q": query, **params})
    assert response.status_code == 200
    return response


def procedure_titles(response):
    return [procedure.title for procedure in response.context["procedures"]]


def module_titles(response):
    return [module.title for module in response.context["modules"]]


@pytest.fixture
def radiation_safety():
    """A module that spells the regulations IR(ME)R, as the demo course does, in a course whose
    title a visitor may mistype."""
    module = ModuleFactory(
        course__title="Radiology basics",
        title="Radiation safety",
        summary="Doses, your duties under IR(ME)R 2017, and protecting yourself.",
    )
    LessonFactory(module=module, title="IR(ME)R 2017: who does what")
    return module


@pytest.fixture
def rig_library():
    """The gastrostomy, and procedures and modules with "rig" inside their words."""
    ProcedureFactory(
        title="Radiologically inserted gastrostomy",
        abbreviation="RIG",
        summary="A feeding tube through the skin into the stomach.",
    )
    ProcedureFactory(title="Right heart catheterisation", summary="Pressures in the right heart.")
    ProcedureFactory(title="Facet joint injection", summary="Under a rigid needle guide.")
    ProcedureFactory(title="Trigger point injection", summary="Into the origin of a muscle.")
    ModuleFactory(title="Right upper quadrant pain", summary="Which test, and when.")
    ModuleFactory(title="Gastrointestinal intervention", summary="Feeding tubes, including RIG.")


# Misspellings: the results of the spelling the content uses, and a way back.


def test_a_misspelt_course_title_shows_results_for_the_spelling_the_content_uses(
    client, radiation_safety
):
    response = search(client, "radiaton safty")

    assert module_titles(response) == ["Radiation safety"]
    assert response.context["search_query"] == "radiation safety"
    assertContains(response, "Showing results for <strong>radiation safety</strong>.", html=True)
    assertContains(response, "1 result for “radiation safety”: ")
    search_instead = f"{SEARCH_URL}?q=radiaton%20safty&amp;as_typed=1"
    assertContains(response, f'Search instead for <a href="{search_instead}">radiaton safty</a>')
    assertContains(response, 'value="radiation safety"')


def test_search_instead_shows_no_results_for_what_was_typed_and_offers_the_spelling(
    client, radiation_safety
):
    response = search(client, "radiaton safty", as_typed="1")

    assert module_titles(response) == []
    assert response.context["search_query"] == "radiaton safty"
    assertContains(response, "0 results for “radiaton safty”: ")
    assertNotContains(response, "Showing results for")
    assertContains(
        response,
        f'Did you mean <a href="{SEARCH_URL}?q=radiation%20safety">radiation safety</a>?',
    )


def test_nefrostomy_finds_the_nephrostomy(client):
    ProcedureFactory(title="Percutaneous nephrostomy", summary="A tube into a blocked kidney.")
    ProcedureFactory(title="Vertebroplasty", summary="Cement for a fractured vertebra.")

    response = search(client, "nefrostomy")

    assert procedure_titles(response) == ["Percutaneous nephrostomy"]


@sqlite_only
def test_on_sqlite_nefrostomy_shows_results_for_nephrostomy(client):
    ProcedureFactory(title="Percutaneous nephrostomy", summary="A tube into a blocked kidney.")

    response = search(client, "nefrostomy")

    assertContains(response, "Showing results for <strong>nephrostomy</strong>.", html=True)


def test_a_correct_word_is_kept_and_only_the_misspelt_one_put_right(client):
    CourseFactory(title="Nephrostomy tube care", summary="On the ward.")

    response = search(client, "Nephrostomy tueb care")

    assert response.context["search_query"] == "Nephrostomy tube care"
    assert [course.title for course in response.context["courses"]] == ["Nephrostomy tube care"]


def test_a_search_that_finds_something_is_never_corrected(client):
    CourseFactory(title="Radiation safety", summary="Doses and duties.")
    CourseFactory(title="Radiaton dosimetry", summary="A title with a typo in it.")

    response = search(client, "radiaton")

    assert [course.title for course in response.context["courses"]] == ["Radiaton dosimetry"]
    assertNotContains(response, "Showing results for")
    assertNotContains(response, "Did you mean")


def test_no_suggestion_when_the_spelling_would_find_nothing_either(client, radiation_safety):
    response = search(client, "radiaton xylophone")

    assert response.context["result_count"] == 0
    assertNotContains(response, "Showing results for")
    assertNotContains(response, "Did you mean")
    assertContains(response, "0 results for “radiaton xylophone”: ")


def test_drafts_never_lend_their_words_to_a_suggestion(client):
    ProcedureFactory(title="Vertebroplasty", summary="Cement for a vertebra.", draft=True)
    CourseFactory(title="Kyphoplasty", status="draft", published_at=None)
    ModuleFactory(title="Sacroplasty", course__status="draft", course__published_at=None)

    for query in ["vertebroplasti", "kyphoplasti", "sacroplasti"]:
        response = search(client, query)

        assert response.context["result_count"] == 0, query
        assertNotContains(response, "plasty")


def test_the_spelling_help_learns_new_content_at_once(client):
    search(client, "radiaton")  # builds and caches the vocabulary, without "radiation"

    CourseFactory(title="Radiation safety", summary="Doses and duties.")
    response = search(client, "radiaton")

    assert [course.title for course in response.context["courses"]] == ["Radiation safety"]


# Abbreviations spelt another way.


@pytest.mark.parametrize("query", ["IRMER", "irmer", "IRMER 2017"])
def test_irmer_finds_the_module_that_spells_it_ir_me_r(client, radiation_safety, query):
    response = search(client, query)

    assert module_titles(response) == ["Radiation safety"]
    assertContains(response, "Showing results for <strong>IR(ME)R", html=False)


def test_the_abbreviation_as_the_content_spells_it_is_found_without_correction(
    client, radiation_safety
):
    response = search(client, "IR(ME)R")

    assert module_titles(response) == ["Radiation safety"]
    assertNotContains(response, "Showing results for")


# Short words are whole words.


@pytest.mark.parametrize("query", ["RIG", "rig", " RIG, "])
def test_rig_finds_the_gastrostomy_and_not_words_with_rig_inside(client, rig_library, query):
    response = search(client, query)

    assert procedure_titles(response) == ["Radiologically inserted gastrostomy"]
    assert module_titles(response) == ["Gastrointestinal intervention"]


def test_a_longer_word_still_matches_inside_a_word(client):
    ModuleFactory(title="Chemoembolisation", summary="Drug and particles into a tumour's artery.")

    response = search(client, "embolisation")

    assert module_titles(response) == ["Chemoembolisation"]


def test_a_short_word_still_matches_next_to_punctuation(client):
    ModuleFactory(title="Gastrostomy (RIG): aftercare", summary="Tube care.")
    ModuleFactory(title="Tube care", summary="RIG/PEG tubes, and when to call.")

    assert module_titles(search(client, "RIG")) == ["Gastrostomy (RIG): aftercare", "Tube care"]


# Odd input: a page, never an error.


@pytest.mark.parametrize(
    "query",
    [
        "nefrostomy " * 40,
        "!!! ??? ...",
        "((()))",
        "нефростомия",
        "腎瘻 造設",
        "🩻🩻🩻🩻",
        "\u200b\u202e",
        "ir(me)r" * 30,
        "' OR 1=1 --",
        "\\b\\w+ .* [a-z] (?i)",
    ],
)
@pytest.mark.parametrize("as_typed", ["", "1"])
def test_odd_input_gives_a_page(client, radiation_safety, rig_library, query, as_typed):
    response = search(client, query, as_typed=as_typed)

    assertContains(response, "result")


# Queries: a search that finds something reads no vocabulary; a correction costs a fixed number.

# Procedures: ranked, then highlighted on PostgreSQL; at once on SQLite.
PROCEDURE_QUERIES = 2 if connection.vendor == "postgresql" else 1


def test_a_search_that_finds_something_costs_no_more_queries(
    client, radiation_safety, rig_library, django_assert_num_queries
):
    client.get("/")  # the footer's subscriber count is cached: only the search should count
    # procedures, their guidance; courses; modules
    with django_assert_num_queries(PROCEDURE_QUERIES + 3):
        search(client, "RIG")


def test_a_corrected_search_costs_a_fixed_number_of_queries(client, django_assert_num_queries):
    client.get("/")
    for n in range(3):
        module = ModuleFactory(title=f"Radiation safety {n}", summary="Doses and duties.")
        LessonFactory(module=module, title=f"Lesson {n}")
    # What was typed: procedures; courses; modules. The vocabulary: procedures; course, module
    # and lesson titles. The spelling: procedures; courses; modules.
    with django_assert_num_queries(8):
        search(client, "radiaton")
    # Another search, with the vocabulary cached: the two searches alone.
    with django_assert_num_queries(6):
        search(client, "radiaton safty")


# The demo content: what the issue was about.


def test_the_demo_content_answers_rig_irmer_and_nefrostomy(client):
    # Stacks with the demo's slugs, not processed: the content seeds only link them.
    for slug in phantoms.PHANTOMS:
        ImageStackFactory(slug=slug, title=slug)
    procedure_library_seed()
    course_catalogue_seed()

    rig = search(client, "RIG")
    assert procedure_titles(rig)[0] == "Radiologically inserted gastrostomy"
    for found in rig.context["procedures"][1:]:
        # Any other procedure found names the gastrostomy by its abbreviation, as a word.
        procedure = Procedure.objects.get(pk=found.pk)
        fields = ["title", "abbreviation", "also_known_as", "summary", *dict(Procedure.SECTIONS)]
        text = " ".join(getattr(procedure, name) for name in fields)
        assert re.search(r"\bRIG\b", text), procedure.title

    irmer = search(client, "IRMER")
    assert "Radiation safety" in module_titles(irmer)
    assertContains(irmer, "Showing results for <strong>IR(ME)R</strong>.", html=True)

    nefrostomy = search(client, "nefrostomy")
    assert procedure_titles(nefrostomy)[0] == "Percutaneous nephrostomy"
