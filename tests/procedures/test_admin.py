"""The procedure library in the admin, as content editors use it: forms are posted the way the
browser would post them, starting from the fields the admin page itself renders."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pytest_django.asserts import assertContains

from irlearn.figures import MAX_FIGURE_BYTES
from procedures.models import Category, Figure, ImagingModality, Procedure
from tests.factories import (
    CategoryFactory,
    ContentEditorFactory,
    FigureFactory,
    ProcedureFactory,
    SubscriberManagerFactory,
    png_bytes,
)

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:procedures_procedure_changelist")

SIMPLE_SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 100 60" role="img">
  <title>A nephrostomy tube</title>
  <defs><marker id="tip"><path d="M0 0 L4 2 L0 4 z"/></marker></defs>
  <rect x="1" y="1" width="98" height="58" fill="#f5f9fb" stroke="#0b5c7a"/>
  <path id="tube" d="M10 50 C 30 10, 60 10, 90 30" fill="none" stroke="#333"
        marker-end="url(#tip)"/>
  <use xlink:href="#tube" transform="translate(0 5)"/>
  <text x="10" y="15" font-size="6">Kidney</text>
</svg>"""


def svg(inner, attributes=""):
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="0 0 10 10"{attributes}>{inner}</svg>'
    ).encode()


# Uploads the admin must refuse: (file name, content, what the error says).
BAD_FIGURES = {
    "text-renamed-png": ("scan.png", b"Not an image, just some notes.\n", "not an image we can"),
    "svg-renamed-png": ("diagram.png", SIMPLE_SVG, "not an image we can"),
    "truncated-png": ("scan.png", png_bytes()[:30], "not an image we can"),
    "too-large": (
        "huge.png",
        png_bytes() + b"\0" * (MAX_FIGURE_BYTES + 1 - len(png_bytes())),
        "figures can be at most 5.0\xa0MB",
    ),
    "wrong-extension": ("diagram.html", b"<p>Hello</p>", "File extension"),
    "svg-with-script": (
        "diagram.svg",
        svg("<script>alert(1)</script>"),
        "may not contain &lt;script&gt;",
    ),
    "svg-with-namespaced-script": (
        "diagram.svg",
        svg('<script xmlns="http://www.w3.org/2000/svg">alert(1)</script>'),
        "may not contain &lt;script&gt;",
    ),
    "svg-with-onload": ("diagram.svg", svg("<rect/>", ' onload="alert(1)"'), "event handlers"),
    "svg-with-onclick-inside": ("diagram.svg", svg('<rect onclick="alert(1)"/>'), "event handlers"),
    "svg-with-external-href": (
        "diagram.svg",
        svg('<use href="https://example.org/evil.svg#x"/>'),
        "only link to parts of themselves",
    ),
    "svg-with-external-xlink-href": (
        "diagram.svg",
        svg('<use xlink:href="https://example.org/evil.svg#x"/>'),
        "only link to parts of themselves",
    ),
    "svg-with-javascript-href": (
        "diagram.svg",
        svg('<a href="javascript:alert(1)"><rect/></a>'),
        "may not contain &lt;a&gt;",
    ),
    "svg-with-foreign-object": (
        "diagram.svg",
        svg("<foreignObject><p>Hi</p></foreignObject>"),
        "may not contain &lt;foreignObject&gt;",
    ),
    "svg-with-style": ("diagram.svg", svg('<rect style="fill:red"/>'), "style attributes"),
    "svg-with-external-url": (
        "diagram.svg",
        svg('<rect fill="url(https://example.org/x.svg#p)"/>'),
        "external URLs",
    ),
    "svg-not-well-formed": ("diagram.svg", b"<svg><rect></svg>", "not well-formed XML"),
    "svg-with-entities": (
        "diagram.svg",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&a;&a;</text></svg>',
        "not well-formed XML",
    ),
    "xml-that-is-not-svg": ("diagram.svg", b"<html><body/></html>", "not an SVG image"),
}


class FormFields(HTMLParser):
    """What a browser would submit from one form of a page, as {name: [values]}.

    File inputs and buttons are left out: a test adds the files and the button it presses. The
    fields of an inline's empty template (``__prefix__``) go to ``templates`` instead, for
    ``add_inline_form`` to copy, as the admin's JavaScript does when "Add another" is clicked.
    """

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.fields = {}
        self.templates = {}
        self._textarea = None
        self._select = None

    def _add(self, name, value):
        target = self.templates if "__prefix__" in name else self.fields
        target.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == self.form_id
        if not self.in_form or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self._add(attrs["name"], attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]
        elif tag == "select":
            self._select = {"name": attrs["name"], "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self._select is not None:
            self._select["options"].append((attrs.get("value", ""), "selected" in attrs))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            # Browsers drop the newline that follows <textarea>, as the HTML standard says.
            self._add(name, text.removeprefix("\r\n").removeprefix("\n"))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            select, self._select = self._select, None
            chosen = [value for value, selected in select["options"] if selected]
            if not chosen and not select["multiple"] and select["options"]:
                chosen = [select["options"][0][0]]
            for value in chosen:
                self._add(select["name"], value)


def admin_form(response, form_id):
    """The fields of form ``form_id`` on an admin page, and its inline templates."""
    assert response.status_code == 200
    parser = FormFields(form_id)
    parser.feed(response.content.decode())
    assert parser.fields, f"no form {form_id!r} on the page"
    return parser.fields, parser.templates


def add_inline_form(data, templates, prefix, **values):
    """Add one form to the ``prefix`` inline formset, as the "Add another" link does."""
    index = int(data[f"{prefix}-TOTAL_FORMS"][0])
    for name, template_values in templates.items():
        if name.startswith(f"{prefix}-__prefix__-"):
            data[name.replace("__prefix__", str(index))] = list(template_values)
    for field, value in values.items():
        data[f"{prefix}-{index}-{field}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = [str(index + 1)]
    return data


def change_url(procedure):
    return reverse("admin:procedures_procedure_change", args=[procedure.pk])


@pytest.fixture
def editor_client(client):
    client.force_login(ContentEditorFactory())
    return client


def post_figure(client, procedure, upload, **changes):
    """Post the procedure's change form with one new figure (and any field ``changes``)."""
    data, templates = admin_form(client.get(change_url(procedure)), "procedure_form")
    for field, value in changes.items():
        data[field] = [value]
    add_inline_form(data, templates, "figures", image=upload, alt_text="A drain in a collection")
    return client.post(change_url(procedure), {**data, "_save": "Save"})


def media_files(settings):
    return [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()]


# Figures.


def test_content_editor_adds_a_png_figure_on_the_change_form(editor_client, settings):
    procedure = ProcedureFactory(guidance=["ct"], related=[ProcedureFactory()])
    upload = SimpleUploadedFile("drain.png", png_bytes(), content_type="image/png")

    response = post_figure(editor_client, procedure, upload)

    assert response.status_code == 302, response.context["errors"]
    figure = Figure.objects.get(procedure=procedure)
    assert figure.alt_text == "A drain in a collection"
    assert figure.image.name.startswith("procedures/figures/drain")
    with Image.open(figure.image.path) as image:
        assert image.format == "PNG"
    # Everything else on the form went back unchanged.
    procedure.refresh_from_db()
    assert list(procedure.guidance.values_list("slug", flat=True)) == ["ct"]
    assert procedure.related.count() == 1
    assert procedure.technique == ProcedureFactory.technique


def test_content_editor_adds_a_simple_svg_figure(editor_client):
    procedure = ProcedureFactory()
    upload = SimpleUploadedFile("tube.svg", SIMPLE_SVG, content_type="image/svg+xml")

    response = post_figure(editor_client, procedure, upload)

    assert response.status_code == 302, response.context["errors"]
    figure = Figure.objects.get(procedure=procedure)
    assert figure.image.name.endswith(".svg")
    assert editor_client.get(procedure.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(("name", "content", "message"), BAD_FIGURES.values(), ids=BAD_FIGURES)
def test_figure_upload_that_is_not_a_safe_image_is_a_form_error(
    editor_client, settings, name, content, message
):
    procedure = ProcedureFactory(title="Nephrostomy")
    upload = SimpleUploadedFile(name, content, content_type="image/png")

    response = post_figure(editor_client, procedure, upload, title="Renamed on the same form")

    assert response.status_code == 200
    assertContains(response, "Please correct the error below.")
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert list(errors[0]) == ["image"]
    assertContains(response, message)
    assert not Figure.objects.exists()
    assert media_files(settings) == []
    procedure.refresh_from_db()
    assert procedure.title == "Nephrostomy"


def test_figure_without_alt_text_is_a_form_error(editor_client):
    procedure = ProcedureFactory()
    data, templates = admin_form(editor_client.get(change_url(procedure)), "procedure_form")
    upload = SimpleUploadedFile("drain.png", png_bytes(), content_type="image/png")
    add_inline_form(data, templates, "figures", image=upload, alt_text="")

    response = editor_client.post(change_url(procedure), {**data, "_save": "Save"})

    assert response.status_code == 200
    assert "alt_text" in response.context["inline_admin_formsets"][0].formset.errors[0]
    assert not Figure.objects.exists()


def test_existing_figures_are_listed_on_the_change_form(editor_client):
    figure = FigureFactory(alt_text="A tube in the renal pelvis")

    response = editor_client.get(change_url(figure.procedure))

    assertContains(response, 'value="A tube in the renal pelvis"')
    assertContains(response, figure.image.url)


# The change list: filters, search, actions.


def changelist_titles(response):
    assert response.status_code == 200
    return sorted(p.title for p in response.context["cl"].result_list)


def test_changelist_lists_drafts_and_published_procedures(editor_client):
    ProcedureFactory(title="Nephrostomy")
    ProcedureFactory(title="Unfinished embolisation", draft=True)

    response = editor_client.get(CHANGELIST_URL)

    assert changelist_titles(response) == ["Nephrostomy", "Unfinished embolisation"]
    for label in ["By status", "By category", "By imaging guidance"]:
        assertContains(response, label)


def test_changelist_filters_by_category_status_and_guidance(editor_client):
    renal = CategoryFactory(name="Genitourinary")
    ProcedureFactory(title="Nephrostomy", category=renal, guidance=["ultrasound"])
    ProcedureFactory(title="Ureteric stent", category=renal, guidance=["fluoroscopy"], draft=True)
    ProcedureFactory(title="CT-guided biopsy", guidance=["ct"])
    ultrasound = ImagingModality.objects.get(slug="ultrasound")

    def filtered(**params):
        return changelist_titles(editor_client.get(CHANGELIST_URL, params))

    assert filtered(category__id__exact=renal.pk) == ["Nephrostomy", "Ureteric stent"]
    assert filtered(status__exact="draft") == ["Ureteric stent"]
    assert filtered(status__exact="published") == ["CT-guided biopsy", "Nephrostomy"]
    assert filtered(guidance__id__exact=ultrasound.pk) == ["Nephrostomy"]
    assert filtered(category__id__exact=renal.pk, status__exact="published") == ["Nephrostomy"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PTC", ["Percutaneous transhepatic cholangiography"]),
        ("cholangio", ["Percutaneous transhepatic cholangiography"]),
        ("transhepatic cholangiogram", ["Percutaneous transhepatic cholangiography"]),
        ("bile", ["Biliary drainage", "Percutaneous transhepatic cholangiography"]),
        ("craniotomy", []),
        ("' OR 1=1 --", []),
    ],
)
def test_changelist_search_finds_title_abbreviation_other_names_and_summary(
    editor_client, query, expected
):
    ProcedureFactory(
        title="Percutaneous transhepatic cholangiography",
        abbreviation="PTC",
        also_known_as="Transhepatic cholangiogram",
        summary="Pictures of the bile ducts.",
    )
    ProcedureFactory(title="Biliary drainage", summary="Drains bile.")

    assert changelist_titles(editor_client.get(CHANGELIST_URL, {"q": query})) == expected


def run_action(client, action, procedures, params=""):
    return client.post(
        CHANGELIST_URL + params,
        {"action": action, "_selected_action": [p.pk for p in procedures], "index": 0},
        follow=True,
    )


def test_publish_action_publishes_the_selected_drafts(editor_client):
    first = ProcedureFactory(draft=True)
    second = ProcedureFactory(draft=True)
    untouched = ProcedureFactory(draft=True)
    before = timezone.now()

    response = run_action(editor_client, "publish", [first, second])

    assertContains(response, "Published 2 procedure(s).")
    for procedure in [first, second]:
        procedure.refresh_from_db()
        assert procedure.status == Procedure.Status.PUBLISHED
        assert procedure.published_at >= before
    untouched.refresh_from_db()
    assert untouched.status == Procedure.Status.DRAFT
    assert editor_client.get(first.get_absolute_url()).status_code == 200


def test_unpublish_and_publish_again_keeps_the_first_published_date(editor_client):
    procedure = ProcedureFactory(draft=True)
    run_action(editor_client, "publish", [procedure])
    procedure.refresh_from_db()
    first_published = procedure.published_at

    response = run_action(editor_client, "unpublish", [procedure])

    assertContains(response, "Returned 1 procedure(s) to draft.")
    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.DRAFT
    assert procedure.published_at == first_published
    assert Client().get(procedure.get_absolute_url()).status_code == 404

    run_action(editor_client, "publish", [procedure])

    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.PUBLISHED
    assert procedure.published_at == first_published


def test_publish_action_leaves_already_published_procedures_alone(editor_client):
    published_at = timezone.now() - timezone.timedelta(days=30)
    procedure = ProcedureFactory(published_at=published_at)

    response = run_action(editor_client, "publish", [procedure])

    assertContains(response, "Published 0 procedure(s).")
    procedure.refresh_from_db()
    assert procedure.published_at == published_at


@pytest.mark.parametrize("action", ["publish", "unpublish"])
def test_actions_work_on_a_list_filtered_by_guidance(editor_client, action):
    # Filtering on a many-to-many field makes the admin's queryset DISTINCT.
    procedures = [
        ProcedureFactory(guidance=["ultrasound", "ct"], status=status, published_at=None)
        for status in ["draft", "published"]
    ]
    ultrasound = ImagingModality.objects.get(slug="ultrasound")

    response = run_action(
        editor_client, action, procedures, f"?guidance__id__exact={ultrasound.pk}"
    )

    assert response.status_code == 200
    assertContains(response, "1 procedure(s)")
    expected = "published" if action == "publish" else "draft"
    assert {p.status for p in Procedure.objects.all()} == {expected}


def test_saving_a_draft_as_published_on_the_form_sets_the_published_date(editor_client):
    procedure = ProcedureFactory(draft=True)
    data, _ = admin_form(editor_client.get(change_url(procedure)), "procedure_form")
    data["status"] = ["published"]

    response = editor_client.post(change_url(procedure), {**data, "_save": "Save"})

    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.is_published
    assert procedure.published_at is not None


def test_related_procedures_field_finds_procedures_as_the_editor_types(editor_client):
    procedure = ProcedureFactory(title="Nephrostomy")
    ProcedureFactory(title="Percutaneous transhepatic cholangiography", abbreviation="PTC")

    response = editor_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "procedures",
            "model_name": "procedure",
            "field_name": "related",
            "term": "PTC",
        },
        headers={"referer": change_url(procedure)},
    )

    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == [
        "Percutaneous transhepatic cholangiography (PTC)"
    ]


# Links to the site.


def test_change_form_has_view_on_site_and_preview_links(editor_client):
    draft = ProcedureFactory(draft=True)
    published = ProcedureFactory()

    draft_form = editor_client.get(change_url(draft))
    published_form = editor_client.get(change_url(published))

    content_type = ContentType.objects.get_for_model(Procedure)
    assertContains(draft_form, f'href="/admin/r/{content_type.pk}/{draft.pk}/"')
    assertContains(draft_form, "View on site")
    assertContains(
        draft_form,
        f'<a href="{draft.get_absolute_url()}">Preview the draft as learners will see it</a>',
        html=True,
    )
    assertContains(
        published_form,
        f'<a href="{published.get_absolute_url()}">Open the live page</a>',
        html=True,
    )
    redirect = editor_client.get(f"/admin/r/{content_type.pk}/{draft.pk}/")
    assert redirect.status_code == 302
    assert redirect["Location"].endswith(draft.get_absolute_url())
    preview = editor_client.get(draft.get_absolute_url())
    assertContains(preview, "Draft preview.")


def test_add_form_explains_that_preview_comes_after_saving(editor_client):
    response = editor_client.get(reverse("admin:procedures_procedure_add"))

    assertContains(response, "Save the procedure to preview it.")


# History.


def test_history_lists_each_change_and_a_past_version_can_be_reverted(editor_client):
    procedure = ProcedureFactory(title="Nephrostomy", summary="The first summary.")
    data, _ = admin_form(editor_client.get(change_url(procedure)), "procedure_form")
    data["title"] = ["Percutaneous nephrostomy"]
    data["summary"] = ["A rewritten summary."]
    assert editor_client.post(change_url(procedure), {**data, "_save": "Save"}).status_code == 302
    first, latest = procedure.history.order_by("history_date")

    history = editor_client.get(reverse("admin:procedures_procedure_history", args=[procedure.pk]))

    assert history.status_code == 200
    content = history.content.decode()
    for record in [first, latest]:
        assert f"/admin/procedures/procedure/{procedure.pk}/history/{record.history_id}/" in content
    assert re.search(r"<td>\s*Created\s*</td>", content)
    assert re.search(r"<td>\s*Changed\s*</td>", content)
    assertContains(history, "A rewritten summary.")

    revert_url = reverse(
        "admin:procedures_procedure_simple_history", args=[procedure.pk, first.history_id]
    )
    revert_page = editor_client.get(revert_url)
    assertContains(revert_page, "Press the 'Revert' button below")
    old, _ = admin_form(revert_page, "historicalprocedure_form")
    assert old["title"] == ["Nephrostomy"]
    assert old["summary"] == ["The first summary."]

    response = editor_client.post(revert_url, {**old, "_save": "Revert"})

    assert response.status_code == 302
    procedure.refresh_from_db()
    assert (procedure.title, procedure.summary) == ("Nephrostomy", "The first summary.")
    assert procedure.history.count() == 3
    page = editor_client.get(procedure.get_absolute_url())
    assertContains(page, "The first summary.")


# Categories.


def test_category_changelist_is_ordered_by_order_and_sortable(editor_client):
    CategoryFactory(name="Vascular", order=3)
    CategoryFactory(name="Hepatobiliary", order=1)
    CategoryFactory(name="Genitourinary", order=2)
    url = reverse("admin:procedures_category_changelist")

    response = editor_client.get(url)

    assert response.status_code == 200
    assert [c.name for c in response.context["cl"].result_list] == [
        "Hepatobiliary",
        "Genitourinary",
        "Vascular",
    ]
    assertContains(response, 'class="drag handle"', count=3)


def test_dragging_a_category_saves_the_new_order(editor_client):
    vascular = CategoryFactory(name="Vascular", order=1)
    hepatobiliary = CategoryFactory(name="Hepatobiliary", order=2)

    response = editor_client.post(
        reverse("admin:procedures_category_sortable_update"),
        {"updatedItems": [[hepatobiliary.pk, 1], [vascular.pk, 2]]},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert list(Category.objects.values_list("name", flat=True)) == ["Hepatobiliary", "Vascular"]
    library = editor_client.get(reverse("procedures:index"))
    assert library.status_code == 200


def test_category_changelist_counts_procedures(editor_client):
    category = CategoryFactory(name="Genitourinary")
    ProcedureFactory.create_batch(2, category=category)

    response = editor_client.get(reverse("admin:procedures_category_changelist"))

    assert response.context["cl"].result_list[0].procedure_total == 2
    assertContains(response, '<td class="field-procedure_count">2</td>', html=True)


# Who may use it.


@pytest.mark.parametrize(
    "url",
    [
        lambda p: CHANGELIST_URL,
        lambda p: reverse("admin:procedures_procedure_add"),
        change_url,
        lambda p: reverse("admin:procedures_procedure_history", args=[p.pk]),
        lambda p: reverse("admin:procedures_category_changelist"),
        lambda p: reverse("admin:procedures_imagingmodality_changelist"),
    ],
    ids=["changelist", "add", "change", "history", "categories", "modalities"],
)
def test_subscriber_managers_are_refused_the_procedure_admin(client, url):
    client.force_login(SubscriberManagerFactory())
    procedure = ProcedureFactory()

    assert client.get(url(procedure)).status_code == 403


def test_subscriber_managers_cannot_publish_or_revert(client):
    client.force_login(SubscriberManagerFactory())
    procedure = ProcedureFactory(draft=True)
    record = procedure.history.get()

    action = run_action(client, "publish", [procedure])
    revert = client.post(
        reverse("admin:procedures_procedure_simple_history", args=[procedure.pk, record.pk]),
        {"title": "Hijacked"},
    )

    assert action.status_code == 403
    assert revert.status_code == 403
    procedure.refresh_from_db()
    assert procedure.status == Procedure.Status.DRAFT
    assert procedure.title != "Hijacked"
