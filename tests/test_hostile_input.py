"""Input no page can use gets a 400 or 404, never a 500 (the fuzz tests look wider)."""

import pytest

from tests.factories import CourseFactory, SuperuserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(SuperuserFactory())
    client.raise_request_exception = False
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/learn/certificates/7KQ4%00M2XD/", "/learn/certificates/7KQ4%00M2XD/pdf/"]
)
def test_a_nul_byte_in_a_certificate_code_is_a_bad_request(client, url):
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


@pytest.mark.django_db
def test_a_nul_byte_in_a_query_value_or_name_is_a_bad_request(client):
    assert client.get("/procedures/", {"q": "drain\x00"}).status_code == 400
    assert client.get("/procedures/?a%00b=1").status_code == 400


@pytest.mark.django_db
def test_a_nul_byte_in_a_form_field_is_a_bad_request_that_changes_nothing(client):
    from irlearn.newsletter.models import Subscriber

    response = client.post(
        "/newsletter/",
        {"email": "reader\x00@example.org", "consent": "on"},
        headers={"sec-fetch-site": "same-origin"},
    )
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_an_ordinary_query_is_left_alone(client, db):
    assert client.get("/procedures/", {"q": "nephrostomy"}).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/courses/course/abc/history/",
        "/admin/courses/course/abc/history/1/",
        "/admin/courses/course/{pk}/history/abc/",
        "/admin/procedures/procedure/abc/history/",
        "/admin/courses/course/abc/report/",
        "/admin/courses/course/abc/report.csv",
    ],
)
def test_admin_pages_for_an_id_that_cannot_exist_are_404(staff_client, url):
    course = CourseFactory()
    assert staff_client.get(url.format(pk=course.pk)).status_code == 404


@pytest.mark.parametrize("year", ["9999", "10000", "0", "99999999999999999999"])
def test_a_date_hierarchy_year_out_of_range_gets_the_incorrect_lookup_page(staff_client, year):
    for changelist in ["/admin/courses/enrolment/", "/admin/newsletter/subscriber/"]:
        field = "enrolled_at" if "enrolment" in changelist else "created_at"
        response = staff_client.get(changelist, {f"{field}__year": year, f"{field}__month": "12"})
        assert response.status_code == 302
        assert response["Location"].endswith("?e=1")
