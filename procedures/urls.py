from django.urls import path

from procedures import views

app_name = "procedures"

urlpatterns = [
    path("", views.ProcedureIndexView.as_view(), name="index"),
    path("category/<slug:slug>/", views.CategoryDetailView.as_view(), name="category-detail"),
    path("<slug:slug>/", views.ProcedureDetailView.as_view(), name="procedure-detail"),
]
