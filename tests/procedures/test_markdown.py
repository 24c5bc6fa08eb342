"""Editors write Markdown; learners get the HTML rendered from it on save, with nothing active."""

import re

import pytest
from pytest_django.asserts import assertContains

from procedures.models import Procedure
from tests.factories import ProcedureFactory

pytestmark = pytest.mark.django_db

DANGEROUS = [
    "<script>alert('technique')</script>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<p onclick="alert(1)">Click the wire</p>',
    '<a href="https://example.org/guide" onmouseover="alert(1)">Guide</a>',
    "<svg onload=alert(1)><circle r=4 /></svg>",
    "[Open the guide](javascript:alert(1))",
    "[Open the guide](JaVaScRiPt:alert(1))",
    '<a href="jav&#x09;ascript:alert(1)">Open the guide</a>',
    "[Open the guide](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![Diagram](javascript:alert(1))",
    '<iframe src="https://example.org/"></iframe>',
    '<style>body { display: none }</style><div style="color: red">Red</div>',
    '<form action="https://example.org/"><input name="q"></form>',
]
# Anything that could run script, load a frame or restyle the page.
ACTIVE = re.compile(
    # The page's own scripts (structured data, the image stack viewer) are not the editor's.
    r"<script(?![^>]*(application/ld\+json|src=\"/static/stacks/viewer\.js\"))"
    r"|<iframe|<style|<form action=\"https://example"
    r"|\son\w+\s*=|javascript:|data:text|\sstyle=",
    re.IGNORECASE,
)


def test_markdown_sections_are_rendered_to_html_on_save():
    procedure = ProcedureFactory(
        technique="1. Puncture the duct\n2. Pass a **wire**",
        risks="- Bleeding\n- Sepsis",
        references="[BSIR](https://www.bsir.org/)",
    )

    assert procedure.rendered["technique"] == (
        "<ol>\n<li>Puncture the duct</li>\n<li>Pass a <strong>wire</strong></li>\n</ol>"
    )
    assert procedure.rendered["risks"] == "<ul>\n<li>Bleeding</li>\n<li>Sepsis</li>\n</ul>"
    assert procedure.rendered["references"] == (
        '<p><a href="https://www.bsir.org/" rel="noopener noreferrer">BSIR</a></p>'
    )
    procedure.refresh_from_db()
    assert "<strong>wire</strong>" in procedure.rendered["technique"]


def test_changed_markdown_is_rendered_again_on_save():
    procedure = ProcedureFactory(aftercare="Bed rest for *two* hours.")

    procedure.aftercare = "Bed rest for *four* hours."
    procedure.save()

    procedure.refresh_from_db()
    assert procedure.rendered["aftercare"] == "<p>Bed rest for <em>four</em> hours.</p>"


def test_saving_only_some_fields_still_renders_them():
    procedure = ProcedureFactory(aftercare="Old advice.")

    procedure.aftercare = "**New** advice."
    procedure.save(update_fields=["aftercare"])

    procedure.refresh_from_db()
    assert procedure.rendered["aftercare"] == "<p><strong>New</strong> advice.</p>"


def test_empty_sections_render_to_nothing_and_leave_the_page():
    procedure = ProcedureFactory(alternatives="", referral="   ")

    assert procedure.rendered["alternatives"] == ""
    assert procedure.rendered["referral"] == ""
    assert "alternatives" not in [anchor for anchor, _, _ in procedure.sections]
    assert "referral" not in [anchor for anchor, _, _ in procedure.sections]


@pytest.mark.parametrize("text", DANGEROUS)
def test_nothing_active_in_editor_markdown_reaches_the_page(client, text):
    fields = {name: f"Safe words.\n\n{text}" for name, _ in Procedure.SECTIONS}
    procedure = ProcedureFactory(**fields, references=text)

    response = client.get(procedure.get_absolute_url())

    assert response.status_code == 200
    content = response.content.decode()
    assert not ACTIVE.findall(content)
    for html in procedure.rendered.values():
        assert not ACTIVE.findall(html)
    assertContains(response, "Safe words.", count=len(Procedure.SECTIONS))


def test_sanitising_keeps_the_harmless_part_of_a_dangerous_link():
    procedure = ProcedureFactory(
        referral='<a href="https://example.org/refer" onclick="steal()">Refer online</a>'
    )

    assert procedure.rendered["referral"] == (
        '<p><a href="https://example.org/refer" rel="noopener noreferrer">Refer online</a></p>'
    )


def test_code_that_mentions_script_is_shown_as_text():
    procedure = ProcedureFactory(technique="Never paste `<script>` into a page.")

    assert procedure.rendered["technique"] == (
        "<p>Never paste <code>&lt;script&gt;</code> into a page.</p>"
    )


def test_a_heading_an_editor_writes_sits_below_the_section_heading_without_clashing(client):
    procedure = ProcedureFactory(
        technique="# Technique\n\nThe steps.\n\n## Children\n\nA smaller needle.",
        aftercare="## Children\n\nA shorter stay.",
    )

    response = client.get(procedure.get_absolute_url())

    content = response.content.decode()
    ids = re.findall(r'\sid="([^"]+)"', content)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    technique = re.search(r'<h2 id="technique">.*?</section>', content, re.DOTALL).group()
    assert not re.search(r"<h[12][\s>]", technique.removeprefix('<h2 id="technique">'))
    assert re.search(r"<h3[^>]*>Technique</h3>", technique)
    assert re.search(r"<h4[^>]*>Children</h4>", technique)
