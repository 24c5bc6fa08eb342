from django.urls import path

from courses import views

app_name = "courses"

# Fixed paths come before the course slug; courses.models reserves these slugs.
urlpatterns = [
    path("", views.CatalogueView.as_view(), name="catalogue"),
    path("my/", views.DashboardView.as_view(), name="dashboard"),
    path("my/<slug:slug>/complete/", views.course_complete, name="course-complete"),
    path("attempts/<int:pk>/", views.attempt_result, name="attempt-result"),
    path("attempts/<int:pk>/<int:number>/", views.attempt_question, name="attempt-question"),
    path("certificates/", views.certificate_lookup, name="certificate-lookup"),
    path("certificates/<str:code>/", views.certificate_verify, name="certificate-verify"),
    path("certificates/<str:code>/pdf/", views.certificate_pdf, name="certificate-pdf"),
    path("<slug:slug>/", views.CourseDetailView.as_view(), name="course-detail"),
    path("<slug:slug>/enrol/", views.enrol, name="enrol"),
    path("<slug:slug>/unenrol/", views.unenrol, name="unenrol"),
    path("<slug:slug>/resume/", views.resume, name="resume"),
    path("<slug:course>/<slug:module>/", views.module_detail, name="module-detail"),
    path("<slug:course>/<slug:module>/questions/", views.quiz, name="quiz"),
    path("<slug:course>/<slug:module>/<slug:lesson>/", views.lesson_detail, name="lesson-detail"),
    path(
        "<slug:course>/<slug:module>/<slug:lesson>/complete/",
        views.lesson_mark,
        name="lesson-complete",
    ),
]
