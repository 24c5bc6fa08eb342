"""Search from the header box: full text on PostgreSQL, a simpler match on SQLite."""

import re

import pytest
from django.db import connection
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from procedures.models import Procedure
from tests.factories import ProcedureFactory

pytestmark = pytest.mark.django_db

SEARCH_URL = reverse("pages:search")
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search and trigrams need PostgreSQL"
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the simple fallback search runs on SQLite"
)

BAD_QUERIES = [
    "",
    "   ",
    "x" * 1000,
    "nephrostomy " * 100,
    '"nephrostomy',
    "'nephrostomy'",
    '"unbalanced "quotes\'',
    "a & b | !c <-> d",
    "nephrostomy & | ! <-> :* ( )",
    "' OR 1=1 --",
    "'; DROP TABLE procedures_procedure; --",
    "%_\\",
    "-nephrostomy",
    "or",
    "the and of",
    "🩻 nephrostomy 🏥",
    "🩻",
    "нефростомия nephrostomy 腎瘻 كلية",
    "\u200b\u202e",
    "<script>alert(1)</script>",
]


def search(client, query):
    response = client.get(SEARCH_URL, {"q": query})
    assert response.status_code == 200
    return response


def titles(response):
    return [procedure.title for procedure in response.context["procedures"]]


@pytest.fixture
def library():
    """A few procedures that share words, as real ones do."""
    return {
        "ptc": ProcedureFactory(
            title="Percutaneous transhepatic cholangiography",
            abbreviation="PTC",
            summary="Contrast injected into the bile ducts through the liver.",
        ),
        "ptc-tract": ProcedureFactory(
            title="PTC tract embolisation",
            summary="Sealing the track left in the liver after a PTC or biliary drain.",
        ),
        "biliary": ProcedureFactory(
            title="Biliary drainage",
            summary="A tube that drains bile, usually placed straight after a PTC.",
        ),
        "rig": ProcedureFactory(
            title="Radiologically inserted gastrostomy",
            abbreviation="RIG",
            summary="A feeding tube through the skin into the stomach.",
        ),
        "gastrostomy-change": ProcedureFactory(
            title="Gastrostomy tube change",
            summary="Swapping an old RIG or PEG tube for a new one.",
        ),
        "nephrostomy": ProcedureFactory(
            title="Nephrostomy",
            abbreviation="PCN",
            summary="A tube through the back into a blocked kidney.",
        ),
    }


def test_search_finds_a_procedure_by_its_title(client, library):
    response = search(client, "nephrostomy")

    assert titles(response)[0] == "Nephrostomy"
    assertContains(response, f'href="{library["nephrostomy"].get_absolute_url()}"')
    assertContains(response, "procedure")
    assertContains(response, "for “nephrostomy”: ")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PTC", "Percutaneous transhepatic cholangiography"),
        ("ptc", "Percutaneous transhepatic cholangiography"),
        ("RIG", "Radiologically inserted gastrostomy"),
        (" rig ", "Radiologically inserted gastrostomy"),
        ("PCN", "Nephrostomy"),
    ],
)
def test_searching_an_abbreviation_puts_that_procedure_first(client, library, query, expected):
    response = search(client, query)

    assert titles(response)[0] == expected


def test_abbreviation_search_still_lists_the_other_procedures_that_mention_it(client, library):
    response = search(client, "PTC")

    assert set(titles(response)) >= {
        "Percutaneous transhepatic cholangiography",
        "PTC tract embolisation",
        "Biliary drainage",
    }


def test_title_match_ranks_above_a_body_only_match(client):
    # The body-only match comes first by title and mentions the word more often.
    ProcedureFactory(
        title="Abdominal drain",
        what_it_is="Like a gastrostomy, a drain crosses the abdominal wall.",
        indications="- A gastrostomy leak\n- A collection next to a gastrostomy",
        technique="As for a gastrostomy, but into the collection.",
    )
    ProcedureFactory(title="Radiologically inserted gastrostomy", summary="A feeding tube.")

    response = search(client, "gastrostomy")

    assert titles(response) == ["Radiologically inserted gastrostomy", "Abdominal drain"]


def test_drafts_never_appear_in_search(client, library):
    draft = ProcedureFactory(
        title="Nephrostomy exchange draft", abbreviation="NEX", summary="Nephrostomy.", draft=True
    )

    for query in ["nephrostomy", "Nephrostomy exchange draft", "NEX", "exchange draft"]:
        response = search(client, query)
        assert "Nephrostomy exchange draft" not in titles(response), query
        assertNotContains(response, draft.get_absolute_url())


def test_drafts_never_appear_in_search_for_staff_either(admin_client, library):
    ProcedureFactory(title="Nephrostomy exchange draft", abbreviation="NEX", draft=True)

    response = search(admin_client, "NEX")

    assert "Nephrostomy exchange draft" not in titles(response)


def test_search_with_no_match_suggests_what_to_try(client, library):
    response = search(client, "craniotomy")

    assert titles(response) == []
    assertContains(response, "0 results for “craniotomy”: 0 procedures, 0 courses and 0 modules.")
    assertContains(response, f'<a href="{reverse("procedures:index")}">browse the library</a>')


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_search_shows_a_hint_and_no_results(
    client, library, django_assert_num_queries, query
):
    client.get("/")  # the footer's subscriber count is cached: only the search should count
    with django_assert_num_queries(0):
        response = search(client, query)

    assert response.context["procedures"] == []
    assertContains(response, "Type the name or abbreviation of a procedure")
    assertNotContains(response, "results for")


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_search_survives_bad_input(client, library, query):
    ProcedureFactory(title="Nephrostomy exchange draft", draft=True)

    response = search(client, query)

    assert "Nephrostomy exchange draft" not in titles(response)
    assertNotContains(response, "<script>alert(1)</script>")


@pytest.mark.parametrize("query", ["nephro\x00stomy", "\x00"])
def test_a_search_with_a_nul_byte_is_a_bad_request(client, library, query):
    # Refused for every URL before any view (irlearn/middleware.py): PostgreSQL cannot hold NUL.
    response = client.get(SEARCH_URL, {"q": query})

    assert response.status_code == 400
    assertContains(response, "We could not understand that request", status_code=400)


def test_long_search_is_cut_to_200_characters(client, library):
    response = search(client, "nephrostomy " + "x" * 1000)

    assert response.context["search_query"] == "nephrostomy " + "x" * 188


def test_search_query_is_shown_escaped(client, library):
    response = search(client, '"><script>alert(1)</script>')

    assertNotContains(response, "<script>alert(1)</script>")
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")


def test_snippets_mark_the_match_and_escape_editor_text(client):
    ProcedureFactory(
        title="Nephrostomy",
        summary='A <b onclick="x">tube</b> into the kidney <script>alert(1)</script> for '
        "hydronephrosis.",
    )

    response = search(client, "hydronephrosis")

    snippet = response.context["procedures"][0].snippet
    assert "<mark>hydronephrosis</mark>" in snippet.lower()
    assert "<b" not in snippet and "<script" not in snippet
    assertContains(response, "<mark>", count=snippet.count("<mark>"))
    assertNotContains(response, "<script>alert(1)</script>")


def test_results_show_category_and_guidance(client):
    ProcedureFactory(title="Nephrostomy", category__name="Genitourinary", guidance=["ultrasound"])

    response = search(client, "nephrostomy")

    assertContains(response, '<p class="eyebrow mb-1">Genitourinary</p>', html=True)
    assertContains(response, '<span class="badge badge-soft">Ultrasound</span>')


def test_the_header_search_box_sends_its_query_to_the_search_page(client):
    response = client.get("/")

    content = response.content.decode()
    form = re.search(r'<form class="site-search[^>]*>', content).group()
    assert f'action="{SEARCH_URL}"' in form and 'method="get"' in form
    assert 'name="q"' in content


# SQLite: every word must appear somewhere; title matches first.


@sqlite_only
def test_sqlite_search_needs_every_word(client):
    ProcedureFactory(title="Nephrostomy", summary="A tube into a blocked kidney.")
    ProcedureFactory(title="Nephrostomy exchange", summary="A new tube for an old one.")
    ProcedureFactory(title="Ureteric stent exchange", summary="A new stent.")

    assert titles(search(client, "nephrostomy exchange")) == ["Nephrostomy exchange"]
    assert titles(search(client, "exchange")) == ["Nephrostomy exchange", "Ureteric stent exchange"]


@sqlite_only
def test_sqlite_search_lists_title_matches_before_body_matches(client):
    ProcedureFactory(title="Abdominal drain", technique="Placed as for a nephrostomy.")
    ProcedureFactory(title="Ureteric stent", summary="Often follows a nephrostomy.")
    ProcedureFactory(title="Nephrostomy", summary="A tube into a blocked kidney.")

    assert titles(search(client, "nephrostomy")) == [
        "Nephrostomy",
        "Abdominal drain",
        "Ureteric stent",
    ]


@sqlite_only
def test_sqlite_search_ignores_case_and_punctuation(client):
    ProcedureFactory(title="Transjugular intrahepatic portosystemic shunt", abbreviation="TIPS")

    assert titles(search(client, "portosystemic, SHUNT!")) == [
        "Transjugular intrahepatic portosystemic shunt"
    ]


# PostgreSQL: weighted full text, ranking, highlighted snippets, trigram similarity.


@postgresql_only
def test_postgresql_search_ranks_title_above_summary_above_body(client):
    ProcedureFactory(title="Abdominal drain", technique="Sometimes left after a sclerotherapy.")
    ProcedureFactory(title="Biopsy", summary="Often done before sclerotherapy.")
    ProcedureFactory(title="Sclerotherapy of lymphatic malformations")

    assert titles(search(client, "sclerotherapy")) == [
        "Sclerotherapy of lymphatic malformations",
        "Biopsy",
        "Abdominal drain",
    ]


@postgresql_only
def test_postgresql_search_finds_a_misspelt_title_by_trigram_similarity(client):
    ProcedureFactory(title="Nephrostomy", summary="A tube into a blocked kidney.")
    ProcedureFactory(title="Vertebroplasty", summary="Cement for a fractured vertebra.")

    assert titles(search(client, "nefrostomy")) == ["Nephrostomy"]
    assert titles(search(client, "vertebroplasti")) == ["Vertebroplasty"]


@postgresql_only
def test_postgresql_search_matches_other_forms_of_a_word(client):
    ProcedureFactory(title="Ultrasound-guided biopsy", summary="A needle takes a core.")
    ProcedureFactory(title="Ureteric stent", summary="A plastic tube.")

    assert titles(search(client, "biopsies")) == ["Ultrasound-guided biopsy"]
    assert titles(search(client, "stenting")) == ["Ureteric stent"]


@postgresql_only
def test_postgresql_search_highlights_matches_in_snippets(client):
    ProcedureFactory(
        title="Nephrostomy",
        summary="A tube into a kidney blocked by a stone.",
        technique="The kidney is punctured under ultrasound.",
    )

    response = search(client, "kidney")

    snippet = response.context["procedures"][0].snippet
    assert snippet.count("<mark>kidney</mark>") == 2
    assertContains(response, "<mark>kidney</mark>", count=2)


@postgresql_only
def test_postgresql_search_finds_other_names(client):
    ProcedureFactory(title="Percutaneous cholecystostomy", also_known_as="Gallbladder drain")

    assert titles(search(client, "gallbladder")) == ["Percutaneous cholecystostomy"]


@postgresql_only
def test_postgresql_search_vector_follows_every_write_even_bulk_updates(client):
    procedure = ProcedureFactory(
        title="Nephrostomy", summary="A tube into the kidney.", what_it_is="A drain."
    )

    Procedure.objects.filter(pk=procedure.pk).update(title="Cholecystostomy")

    assert titles(search(client, "cholecystostomy")) == ["Cholecystostomy"]
    assert titles(search(client, "nephrostomy")) == []


@postgresql_only
def test_postgresql_search_understands_quoted_phrases_and_exclusions(client):
    ProcedureFactory(title="Ureteric stent", summary="A stent from kidney to bladder.")
    ProcedureFactory(title="Biliary stent", summary="A stent across a blocked bile duct.")

    assert titles(search(client, '"bile duct"')) == ["Biliary stent"]
    assert titles(search(client, "stent -bladder")) == ["Biliary stent"]
