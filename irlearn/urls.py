from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path
from django.views.static import serve

from courses.sitemaps import CourseSitemap
from irlearn.accounts.forms import AdminLoginForm
from irlearn.pages.models import ABOUT_SLUG
from irlearn.pages.sitemaps import PageSitemap, StaticViewSitemap
from irlearn.pages.views import HomeView, PageDetailView, favicon, privacy_policy, robots_txt
from procedures.sitemaps import CategorySitemap, ProcedureSitemap

SITEMAPS = {
    "pages": StaticViewSitemap,
    "about": PageSitemap,
    "categories": CategorySitemap,
    "procedures": ProcedureSitemap,
    "courses": CourseSitemap,
}

admin.site.site_header = "IRLearn administration"
admin.site.site_title = "IRLearn admin"
admin.site.index_title = "Content and subscribers"
# Staff log in with the same limits on failed logins as the site (irlearn/accounts/forms.py).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("about/", PageDetailView.as_view(), {"slug": ABOUT_SLUG}, name="about"),
    path("privacy/", privacy_policy, name="privacy"),
    path("accounts/", include("irlearn.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("irlearn.pages.urls")),
    path("procedures/", include("procedures.urls")),
    path("learn/", include("courses.urls")),
    path("newsletter/", include("irlearn.newsletter.urls")),
    path("stacks/", include("irlearn.stacks.urls")),
    path("admin/", admin.site.urls),
    path(
        "sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="django.contrib.sitemaps.views.sitemap"
    ),
    path("robots.txt", robots_txt, name="robots-txt"),
    path("favicon.ico", favicon, name="favicon"),
]

if settings.BENCH:
    from bench.views import bare, bare_logged_in

    urlpatterns += [
        path("bench/bare/", bare, name="bench-bare"),
        path("bench/bare-logged-in/", bare_logged_in, name="bench-bare-logged-in"),
    ]

if settings.SERVE_MEDIA:
    # Uploads from local disk, for development and single-server sites; larger deployments
    # serve MEDIA_URL from the proxy or from S3-compatible storage instead.
    def media(request, path):
        # MEDIA_ROOT read per request, so tests (and settings overrides) are honoured.
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", media)]
