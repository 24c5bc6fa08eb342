from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class CatalogueView(TemplateView):
    """The e-learning catalogue (courses arrive with their own models)."""

    template_name = "courses/catalogue.html"


class DashboardView(LoginRequiredMixin, TemplateView):
    """ "My learning": a learner's enrolments and certificates."""

    template_name = "courses/dashboard.html"
