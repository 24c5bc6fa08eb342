"""The home page's e-learning section: the published courses, each with a designed cover, its
size and, for a learner who enrolled, their progress.

The home page belongs to irlearn/pages, which may not import this app: courses provide the
section as an inclusion tag, and the home template loads this library.
"""

from django import template

from courses.models import Course
from courses.progress import course_outlines

register = template.Library()

# The icons of the designed covers (static/img/courses/<name>.svg), taken in turn; a course's
# uploaded cover, when it has one, is shown instead.
COVER_ICONS = ["course-catheter", "course-probe", "course-xray"]
HOME_COURSES = 3


@register.inclusion_tag("courses/includes/home_courses.html", takes_context=True)
def home_courses(context):
    """Up to three published courses in catalogue order, with the learner's outline of each
    they enrolled on: one query for a visitor; for a learner three more (their enrolments,
    marks and certificates) once the courses' structure is cached."""
    user = context["request"].user
    courses = list(Course.objects.published().with_totals()[:HOME_COURSES])
    outlines = course_outlines(user=user, courses=courses, enrolled_only=True)
    return {
        "entries": [
            (course, outlines.get(course.pk), COVER_ICONS[index % len(COVER_ICONS)], index % 3)
            for index, course in enumerate(courses)
        ],
    }
