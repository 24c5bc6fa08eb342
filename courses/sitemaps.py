from django.contrib.sitemaps import Sitemap

from courses.models import Course


class CourseSitemap(Sitemap):
    """Course pages are public (outcomes and syllabus); lessons need enrolment, so stay out."""

    changefreq = "monthly"
    priority = 0.7

    def items(self):
        return Course.objects.published().only("slug", "updated_at").order_by("slug")

    def lastmod(self, course):
        return course.updated_at
