from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "E-learning"

    def ready(self):
        from courses.services import learner_data
        from irlearn.accounts.services import USER_DATA_SECTIONS
        from irlearn.pagecache import register_content_models

        USER_DATA_SECTIONS["e_learning"] = learner_data
        # Rows the catalogue and course pages show: a change retires the cached pages.
        register_content_models(
            *(
                self.get_model(name)
                for name in ["Course", "Module", "Lesson", "LessonFigure", "Question"]
            )
        )
