from django.urls import path

from procedures import views

app_name = "procedures"

urlpatterns = [
    path("", views.ProcedureIndexView.as_view(), name="index"),
]
