from django.urls import path

from irlearn.stacks import views

app_name = "stacks"

urlpatterns = [
    path("<uuid:key>/<int:generation>/manifest.json", views.manifest, name="manifest"),
]
