"""The living style guide is for staff: anyone else is sent to log in, or finds nothing."""

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from tests.factories import ContentEditorFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/styleguide/"


def test_visitor_is_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_learner_gets_a_404(client):
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 404
    assertNotContains(response, "Style guide", status_code=404)


@pytest.mark.parametrize("factory", [StaffFactory, ContentEditorFactory])
def test_staff_see_the_palette_type_and_components(client, factory):
    client.force_login(factory())

    response = client.get(URL)

    assert response.status_code == 200
    assertContains(response, "<h1>Style guide</h1>", html=True)
    for token in ["--irl-ink", "--irl-teal-700", "--irl-amber-400", "16.1:1"]:
        assertContains(response, token)
    for section in ["Type", "Buttons", "Badges", "Callouts", "Cards and tiles", "Tables"]:
        assertContains(response, f">{section}</h2>")
    assertContains(response, "Form controls")
    assertContains(response, '<meta name="robots" content="noindex">', html=True)


def test_staff_find_it_in_their_account_menu_and_learners_do_not(client):
    client.force_login(UserFactory())
    assertNotContains(client.get("/about/"), f'href="{URL}"')

    client.force_login(StaffFactory())
    assertContains(client.get("/about/"), f'href="{URL}"')
