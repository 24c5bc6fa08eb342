from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from irlearn.pages.models import Page


class StaticViewSitemap(Sitemap):
    priority = 0.6

    def items(self):
        return ["home", "procedures:index", "courses:catalogue"]

    def location(self, name):
        return reverse(name)


class PageSitemap(Sitemap):
    priority = 0.3

    def items(self):
        return Page.objects.all()

    def lastmod(self, page):
        return page.updated_at
