from django.urls import path

from irlearn.pages import views

app_name = "pages"

urlpatterns = [
    path("search/", views.SearchView.as_view(), name="search"),
    path("pages/<slug:slug>/", views.PageDetailView.as_view(), name="page-detail"),
    path("styleguide/", views.styleguide, name="styleguide"),
]
