from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from irlearn.pages.views import HomeView, PageDetailView

admin.site.site_header = "IRLearn administration"
admin.site.site_title = "IRLearn admin"
admin.site.index_title = "Content and subscribers"

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("about/", PageDetailView.as_view(), {"slug": "about"}, name="about"),
    path("privacy/", PageDetailView.as_view(), {"slug": "privacy"}, name="privacy"),
    path("accounts/", include("irlearn.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("irlearn.pages.urls")),
    path("procedures/", include("procedures.urls")),
    path("learn/", include("courses.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
