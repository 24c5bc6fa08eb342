from django.contrib.sitemaps import Sitemap

from procedures.models import Category, Procedure


class ProcedureSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        return Procedure.objects.published().only("slug", "updated_at").order_by("slug")

    def lastmod(self, procedure):
        return procedure.updated_at


class CategorySitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.5

    def items(self):
        return Category.objects.all()
