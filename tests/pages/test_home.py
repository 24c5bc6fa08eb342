"""The home page leads with what is inside: the library's areas, guides with their diagrams,
the courses (with a learner's progress), and the newsletter's promise."""

import re

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from courses import services as course_services
from tests.factories import (
    CategoryFactory,
    CourseFactory,
    EnrolmentFactory,
    FigureFactory,
    LessonFactory,
    ModuleFactory,
    ProcedureFactory,
    course_with_content,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    """Visitors usually get the home page from the page cache; these tests render it."""
    settings.PAGE_CACHE_SECONDS = 0


def main(response):
    body = response.content.decode()
    return body[body.index("<main") : body.index("</main>")]


def test_home_shows_each_area_with_published_procedures_as_a_tile_with_its_icon_and_count(
    client,
):
    urology = CategoryFactory(name="Genitourinary", slug="genitourinary", order=1)
    new_area = CategoryFactory(name="Paediatric work", slug="paediatric", order=2)
    empty = CategoryFactory(name="Nothing published yet", slug="empty", order=3)
    ProcedureFactory.create_batch(2, category=urology)
    ProcedureFactory(category=new_area)
    ProcedureFactory(category=empty, draft=True)

    body = main(client.get("/"))

    tiles = re.findall(
        r'<a class="tile" href="([^"]+)">\s*<img class="tile-icon" src="([^"]+)"', body
    )
    assert tiles == [
        (urology.get_absolute_url(), "/static/img/categories/genitourinary.svg"),
        (new_area.get_absolute_url(), "/static/img/categories/general.svg"),
    ]
    assert "2 procedures" in body
    assert "1 procedure<" in body
    assert "Nothing published yet" not in body


def test_home_features_guides_with_a_diagram_from_different_areas(client):
    first, second = CategoryFactory(slug="a", order=1), CategoryFactory(slug="b", order=2)
    shown = ProcedureFactory(title="Nephrostomy", category=first)
    same_area = ProcedureFactory(title="Ureteric stent", category=first)
    other_area = ProcedureFactory(title="Biliary drain", category=second)
    no_figure = ProcedureFactory(title="Lumbar puncture", category=second)
    draft = ProcedureFactory(title="Draft with figure", category=second, draft=True)
    for procedure in [shown, same_area, other_area, draft]:
        FigureFactory(procedure=procedure)

    response = client.get("/")

    featured = main(response).split('id="home-featured"')[1].split("</section>")[0]
    assert re.findall(r'class="stretched-link" href="[^"]+">([^<]+)<', featured) == [
        "Nephrostomy",
        "Biliary drain",
    ]
    assert featured.count('<div class="card-figure"><img src="/media/procedures/figures/') == 2
    assert no_figure.title not in featured


def test_home_lists_courses_with_a_designed_cover_and_no_progress_for_visitors(client):
    course = course_with_content(title="Nephrostomy essentials", modules=1, lessons=1)

    response = client.get("/")

    courses = main(response).split('id="home-courses"')[1].split("</section>")[0]
    assertContains(response, f'href="{course.get_absolute_url()}">Nephrostomy essentials</a>')
    assert 'class="course-tile-band tone-0"' in courses
    assert "Your progress" not in courses


def test_home_shows_a_learner_their_progress_in_the_courses_they_enrolled_on(
    learner_client, learner
):
    taken = CourseFactory(title="Taken course", order=1)
    module = ModuleFactory(course=taken)
    lessons = [LessonFactory(module=module, order=n) for n in range(4)]
    CourseFactory(title="Other course", order=2)
    EnrolmentFactory(user=learner, course=taken)
    course_services.lesson_complete(user=learner, lesson=lessons[0])

    response = learner_client.get("/")

    courses = main(response).split('id="home-courses"')[1].split("</section>")[0]
    assert courses.count("Your progress") == 1
    assert 'value="25"' in courses


def test_home_makes_the_newsletter_promise_without_a_count_on_a_new_site(client):
    response = client.get("/")

    assertContains(response, "New guides and modules by email, less than once a month.")
    assertNotContains(response, "Join")


def _full_site():
    categories = [CategoryFactory(slug=f"area-{n}", order=n) for n in range(6)]
    for n in range(12):
        procedure = ProcedureFactory(category=categories[n % 6], guidance=["ultrasound", "ct"])
        FigureFactory.create_batch(2, procedure=procedure)
    return [course_with_content(title=f"Course {n}", modules=2, lessons=2) for n in range(3)]


# Categories; featured procedures, their guidance and figures; courses; the footer's
# subscriber count.
HOME_QUERIES = 6
# The session and the user; the learner's enrolments, ticks and certificates; the courses'
# structure, read once and then cached (the outlines read it for enrolled courses only).
LEARNER_QUERIES = HOME_QUERIES + 2 + 3 + 2


def test_home_query_count_is_flat_for_visitors(client, django_assert_num_queries):
    _full_site()

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/")

    assert response.status_code == 200


def test_home_query_count_is_flat_for_a_learner_on_several_courses(
    learner_client, learner, django_assert_max_num_queries
):
    for course in _full_site():
        EnrolmentFactory(user=learner, course=course)

    with django_assert_max_num_queries(LEARNER_QUERIES):
        response = learner_client.get("/")

    assert response.status_code == 200
    assert main(response).count("Your progress") == 3
