from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("", views.CatalogueView.as_view(), name="catalogue"),
    path("my/", views.DashboardView.as_view(), name="dashboard"),
]
