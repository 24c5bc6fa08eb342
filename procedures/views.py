from django.views.generic import TemplateView


class ProcedureIndexView(TemplateView):
    """The procedure library's front page (the library itself arrives with its own models)."""

    template_name = "procedures/index.html"
