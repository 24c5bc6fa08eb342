"""Demo lessons that a diagram explains better than words show it, with its text alternative."""

import io

import pytest
from django.core.management import call_command

from courses import services
from courses.models import Lesson
from tests.procedures.test_demo_figures import figures_on

# Lessons whose demo TOML gives them a figure: the route or anatomy is the point of the lesson.
ILLUSTRATED = {
    "planning-a-lung-biopsy": ["ct-guided-lung-biopsy", "intercostal-space"],
    "seldinger-and-trocar": ["seldinger-technique"],
    "injections-for-sciatica": ["epidural-injection", "nerve-root-block"],
    "ureteric-stents": ["ureteric-stent"],
    "cholecystostomy-and-guptas": ["cholecystostomy", "guptas"],
}


@pytest.mark.django_db
def test_illustrated_demo_lessons_show_their_diagrams_to_an_enrolled_learner(
    learner, learner_client, settings, django_assert_max_num_queries
):
    settings.DEBUG = True
    settings.PAGE_CACHE_SECONDS = 0
    call_command("seed_demo", "--no-accounts", stdout=io.StringIO())

    for slug, diagrams in ILLUSTRATED.items():
        lesson = Lesson.objects.select_related("module__course").get(slug=slug)
        services.enrolment_create(user=learner, course=lesson.module.course)
        with django_assert_max_num_queries(12):
            response = learner_client.get(lesson.get_absolute_url())
        assert response.status_code == 200, slug
        # Other <figure>s (an image stack's viewer) may share the page: take the diagrams.
        images = [(alt, src) for alt, src in figures_on(response.content.decode()) if ".svg" in src]
        assert [src.rsplit("/", 1)[-1].split(".")[0] for _alt, src in images] == diagrams, slug
        assert all(len(alt) > 40 for alt, _src in images), slug
