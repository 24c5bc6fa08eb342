from django.urls import path

from irlearn.accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/my-data/", views.data_export, name="data-export"),
    path("profile/delete/", views.account_delete, name="delete"),
]
