from django.urls import path, re_path

from irlearn.accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/my-data/", views.data_export, name="data-export"),
    path("profile/delete/", views.account_delete, name="delete"),
    # Shadows allauth's view of the same address (this module is included first).
    re_path(
        r"^confirm-email/(?P<key>[-:\w]+)/$",
        views.EmailConfirmView.as_view(),
        name="email-confirm",
    ),
]
