from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.generic import DetailView, TemplateView

from irlearn.pages.models import Page, PrivacyPolicy
from irlearn.search import SEARCH_SECTIONS, site_search


class HomeView(TemplateView):
    """The home page: what IRLearn is, then what is inside. The sections about the library and
    the courses come from those apps' template tags: this app may not import them."""

    template_name = "pages/home.html"


@login_required
def styleguide(request):
    """The living style guide: the site's colours, type and components, for staff who build
    pages. Not a page for learners, so anyone else gets a plain 404."""
    if not request.user.is_staff:
        raise Http404("No such page.")
    return render(request, "pages/styleguide.html")


def favicon(request):
    """/favicon.ico, which browsers (and the admin, which has no icon link) ask for."""
    return HttpResponsePermanentRedirect(static("img/favicon.ico"))


class PageDetailView(DetailView):
    """A site page, at its one address: any other address of it (the about page's
    /pages/about/) redirects there for good, so links and search engines settle on one."""

    template_name = "pages/page_detail.html"
    context_object_name = "page"

    def get_queryset(self):
        return Page.objects.all()

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        url = self.object.get_absolute_url()
        if request.path != url:
            return HttpResponsePermanentRedirect(url)
        return self.render_to_response(self.get_context_data(object=self.object))


def privacy_policy(request):
    """The privacy policy in force, with its version and date (older versions stay on record)."""
    policy = PrivacyPolicy.objects.current()
    if policy is None:
        raise Http404("No privacy policy has been published.")
    return render(request, "pages/privacy_policy.html", {"policy": policy})


def csrf_failure(request, reason=""):
    """A 403 in the site's style that tells the user how to recover (CSRF_FAILURE_VIEW)."""
    return render(request, "403_csrf.html", status=403)


class SearchView(TemplateView):
    """Site search from the header box: each app's section (procedures, courses and modules),
    from the apps that register one (irlearn/search.py)."""

    template_name = "pages/search.html"
    max_query_length = 200

    def get_context_data(self, **kwargs):
        query = " ".join(self.request.GET.get("q", "").split())[: self.max_query_length]
        # "Search instead for ..." links here with as_typed=1: no correction, only an offer.
        search = site_search(query, as_typed=bool(self.request.GET.get("as_typed")))
        return super().get_context_data(
            search=search,
            search_query=search.query,
            section_templates=[section.template for section in SEARCH_SECTIONS],
            counts=search.counts,
            result_count=search.result_count,
            **search.results,
            **kwargs,
        )


def robots_txt(request):
    return render(request, "robots.txt", content_type="text/plain; charset=utf-8")
