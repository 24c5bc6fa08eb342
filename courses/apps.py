from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "E-learning"

    def ready(self):
        from courses.services import learner_data
        from irlearn.accounts.services import USER_DATA_SECTIONS

        USER_DATA_SECTIONS["e_learning"] = learner_data
