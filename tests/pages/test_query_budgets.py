import pytest
from django.urls import reverse

from tests.factories import ContentEditorFactory

# Queries each page may run for an anonymous visitor. Raise a budget only on purpose, when a page
# gains content that needs it: a query per row in a list is exactly what this is here to catch.
PAGE_QUERIES = {
    # categories; featured procedures, their guidance, figures; courses (tests/pages/test_home.py)
    "home": 5,
    "about": 1,  # the page
    "privacy": 1,  # the page
    "procedures:index": 4,  # modalities, procedures, their guidance, categories
    # procedures (on PostgreSQL: ranked, then highlighted), their guidance; courses; modules
    "pages:search": 5,
}
# Every page's footer says "Join N+ subscribers": one COUNT when the cache is cold (each test
# starts with an empty cache), none for the next hour.
FOOTER_QUERIES = 1
PAGE_QUERIES = {name: queries + FOOTER_QUERIES for name, queries in PAGE_QUERIES.items()}
# A logged-in learner adds the session and the user, and nothing more.
LOGGED_IN_QUERIES = 2


def page_url(name):
    url = reverse(name)
    return f"{url}?q=nephrostomy" if name == "pages:search" else url


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGE_QUERIES)
def test_page_query_budget_for_visitors(client, django_assert_max_num_queries, name):
    with django_assert_max_num_queries(PAGE_QUERIES[name]):
        response = client.get(page_url(name))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGE_QUERIES)
def test_page_query_budget_for_learners(learner_client, django_assert_max_num_queries, name):
    with django_assert_max_num_queries(PAGE_QUERIES[name] + LOGGED_IN_QUERIES):
        response = learner_client.get(page_url(name))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGE_QUERIES)
def test_page_query_budget_for_staff(client, django_assert_max_num_queries, name):
    client.force_login(ContentEditorFactory())
    # The "Administration" link needs is_staff only, not the staff member's permissions.
    with django_assert_max_num_queries(PAGE_QUERIES[name] + LOGGED_IN_QUERIES):
        response = client.get(page_url(name))

    assert response.status_code == 200
