"""Certificates over HTTP: the PDF a learner downloads from "My learning", who may download it,
the public verification page, and the QR code that leads to it.

The PDF is read back with pdfminer.six, the QR code is compared with one segno makes for the
verification URL.
"""

import io
import re
from html import unescape

import pytest
import segno
from django.urls import reverse
from django.utils.formats import date_format
from pdfminer.high_level import extract_pages, extract_text
from pdfminer.layout import LTRect
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from courses import services
from courses.models import Certificate
from tests.factories import ContentEditorFactory, StaffFactory, UserFactory, course_with_content

pytestmark = pytest.mark.django_db

DASHBOARD_URL = reverse("courses:dashboard")
PDF_LINK = re.compile(r'href="(/learn/certificates/[^"]+/pdf/)"')
DEFINITION = re.compile(r"<dd[^>]*>(.*?)</dd>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def certify(user, *, title="IR Bites", cpd_hours="2.5") -> Certificate:
    """Enrol ``user`` on a new one-module course and complete it, as the views would."""
    course = course_with_content(
        modules=1, lessons=2, questions=0, title=title, cpd_hours=cpd_hours
    )
    services.enrolment_create(user=user, course=course)
    for lesson in course.modules.get().lessons.all():
        services.lesson_complete(user=user, lesson=lesson)
    return Certificate.objects.get(user=user, course=course)


def pdf_url(certificate):
    return reverse("courses:certificate-pdf", kwargs={"code": certificate.code})


def verify_url(certificate):
    return f"http://testserver{certificate.get_absolute_url()}"


def pdf_text(response) -> str:
    """The PDF's text with runs of whitespace made single spaces."""
    return " ".join(extract_text(io.BytesIO(response.content)).split())


def download_from_dashboard(client):
    dashboard = client.get(DASHBOARD_URL)
    assert dashboard.status_code == 200
    links = PDF_LINK.findall(dashboard.content.decode())
    assert len(links) == 1, links
    return client.get(links[0])


def facts_shown(response) -> list[str]:
    return [
        " ".join(unescape(TAG.sub("", value)).split())
        for value in DEFINITION.findall(response.content.decode())
    ]


@pytest.fixture
def certificate(learner):
    return certify(learner)


# The PDF.


def test_the_learner_downloads_their_certificate_pdf_from_my_learning(learner_client, certificate):
    response = download_from_dashboard(learner_client)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="irlearn-certificate-{certificate.code}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_the_pdf_states_name_course_cpd_hours_date_code_and_where_to_check_it(
    learner_client, learner, certificate
):
    text = pdf_text(download_from_dashboard(learner_client))

    assert learner.full_name in text
    assert "IR Bites" in text
    assert "2.5 CPD hours" in text
    assert f"completed on {date_format(certificate.completed_on, 'j F Y')}" in text
    assert f"Certificate code: {certificate.code}" in text
    assert verify_url(certificate) in text


@pytest.mark.parametrize(
    ("cpd_hours", "printed"),
    [("1.0", "1 CPD hour ·"), ("2.0", "2 CPD hours ·"), ("0.5", "0.5 CPD hours ·")],
)
def test_the_pdf_prints_cpd_hours_plainly(client, cpd_hours, printed):
    user = UserFactory()
    certificate = certify(user, cpd_hours=cpd_hours)
    client.force_login(user)

    text = pdf_text(client.get(pdf_url(certificate)))

    assert printed in text


def test_a_name_with_letters_beyond_ascii_prints_correctly(client):
    user = UserFactory(full_name="Siân Łukasiewicz")
    certify(user, title="Ultrasound and CT e-learning: żółć and Ærø")
    client.force_login(user)

    text = pdf_text(download_from_dashboard(client))

    assert "Siân Łukasiewicz" in text
    assert "Ultrasound and CT e-learning: żółć and Ærø" in text


def test_the_pdf_prints_the_name_as_issued_not_as_renamed_since(learner_client, learner):
    certificate = certify(learner)
    issued_name = learner.full_name
    learner.full_name = "A Later Name"
    learner.save()

    text = pdf_text(learner_client.get(pdf_url(certificate)))

    assert issued_name in text
    assert "A Later Name" not in text


def test_the_pdf_link_works_with_a_lower_case_code(learner_client, certificate):
    response = learner_client.get(
        reverse("courses:certificate-pdf", kwargs={"code": certificate.code.lower()})
    )

    assert response.status_code == 200
    assert certificate.code in response["Content-Disposition"]
    assert verify_url(certificate) in pdf_text(response)


def test_the_qr_code_is_that_of_the_verification_url(learner_client, certificate):
    response = learner_client.get(pdf_url(certificate))

    expected = segno.make(verify_url(certificate), error="m")
    dark = {
        (row, col)
        for row, cells in enumerate(expected.matrix_iter(scale=1, border=0))
        for col, is_dark in enumerate(cells)
        if is_dark
    }
    width = expected.symbol_size(scale=1, border=0)[0]
    # The QR code is drawn as one small filled square per dark module; the frame is the one
    # large rectangle.
    page = next(extract_pages(io.BytesIO(response.content)))
    squares = [r for r in page if isinstance(r, LTRect) and r.width < 20]
    left, top = min(r.x0 for r in squares), max(r.y1 for r in squares)
    pitch = (max(r.x0 for r in squares) - left) / (width - 1)
    drawn = {(round((top - r.y1) / pitch), round((r.x0 - left) / pitch)) for r in squares}
    assert len(squares) == len(dark)
    assert drawn == dark


# Who may download it.


def test_another_learner_gets_a_404_for_my_certificate_pdf(client, certificate):
    client.force_login(UserFactory())

    response = client.get(pdf_url(certificate))

    assert response.status_code == 404


def test_staff_without_the_certificate_permission_get_a_404(client, certificate):
    client.force_login(StaffFactory())

    response = client.get(pdf_url(certificate))

    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in_for_the_pdf(client, certificate):
    url = pdf_url(certificate)

    response = client.get(url)

    assertRedirects(
        response, f"{reverse('account_login')}?next={url}", fetch_redirect_response=False
    )


def test_content_editors_may_download_a_learners_certificate(client, learner, certificate):
    client.force_login(ContentEditorFactory())

    response = client.get(pdf_url(certificate))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert learner.full_name in pdf_text(response)


def test_an_unknown_code_has_no_pdf(learner_client, certificate):
    response = learner_client.get(
        reverse("courses:certificate-pdf", kwargs={"code": "ZZZZ-ZZZZ-ZZZZ"})
    )

    assert response.status_code == 404


def test_the_pdf_of_a_revoked_certificate_sends_the_learner_to_the_verification_page(
    learner_client, certificate
):
    services.certificate_revoke(certificates=Certificate.objects.filter(pk=certificate.pk))

    response = learner_client.get(pdf_url(certificate), follow=True)

    assertRedirects(response, certificate.get_absolute_url())
    assertContains(response, "This certificate has been revoked, so it cannot be downloaded.")
    assertContains(response, "Revoked.")


def test_my_learning_offers_no_download_for_a_revoked_certificate(learner_client, certificate):
    services.certificate_revoke(certificates=Certificate.objects.filter(pk=certificate.pk))

    response = learner_client.get(DASHBOARD_URL)

    assertContains(response, "Revoked")
    assertNotContains(response, pdf_url(certificate))


# The public verification page.


def test_the_verification_page_shows_only_the_facts_of_the_certificate(client, learner):
    learner.specialty = "Paediatric surgery"
    learner.save()
    certificate = certify(learner)

    response = client.get(certificate.get_absolute_url())

    assert response.status_code == 200
    assert facts_shown(response) == [
        learner.full_name,
        "IR Bites",
        "2.5",
        date_format(certificate.completed_on, "j F Y"),
        certificate.code,
    ]
    assertContains(response, "Valid.")
    assertNotContains(response, learner.email)
    assertNotContains(response, "Paediatric surgery")
    assertNotContains(response, pdf_url(certificate))
    assertContains(response, '<meta name="robots" content="noindex">', html=True)


def test_the_owner_sees_a_download_button_on_the_verification_page(learner_client, certificate):
    response = learner_client.get(certificate.get_absolute_url())

    assertContains(response, f'href="{pdf_url(certificate)}"')


def test_the_verification_page_of_an_unknown_code_is_404(client):
    response = client.get(reverse("courses:certificate-verify", kwargs={"code": "ZZZZ-ZZZZ-ZZZZ"}))

    assert response.status_code == 404


def test_the_verification_page_accepts_a_lower_case_code(client, certificate):
    response = client.get(
        reverse("courses:certificate-verify", kwargs={"code": certificate.code.lower()})
    )

    assert response.status_code == 200
    assert certificate.code in facts_shown(response)


def test_a_revoked_certificate_page_says_revoked_and_no_longer_names_the_learner(
    client, learner, certificate
):
    services.certificate_revoke(
        certificates=Certificate.objects.filter(pk=certificate.pk), reason="Shared account"
    )

    response = client.get(certificate.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "Revoked.")
    assertContains(response, certificate.code)
    assertNotContains(response, "Valid.")
    assertNotContains(response, learner.full_name)
    assertNotContains(response, "Shared account")
    assert facts_shown(response) == []


def test_a_reinstated_certificate_is_valid_again(client, learner, certificate):
    certificates = Certificate.objects.filter(pk=certificate.pk)
    services.certificate_revoke(certificates=certificates)
    services.certificate_reinstate(certificates=certificates)

    response = client.get(certificate.get_absolute_url())

    assertContains(response, "Valid.")
    assert learner.full_name in facts_shown(response)
