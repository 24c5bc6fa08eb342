from django.apps import AppConfig

# Results of each kind on the site search page: the best matches only.
SEARCH_RESULTS = 20


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "E-learning"

    def ready(self):
        from courses.demo import course_catalogue_seed
        from courses.services import learner_data
        from irlearn.accounts.services import USER_DATA_SECTIONS
        from irlearn.demo import register_demo_seed
        from irlearn.pagecache import register_content_models
        from irlearn.search import SearchSection, register_search_section

        USER_DATA_SECTIONS["e_learning"] = learner_data
        # Rows the catalogue and course pages show: a change retires the cached pages.
        register_content_models(
            *(
                self.get_model(name)
                for name in ["Course", "Module", "Lesson", "LessonFigure", "Question"]
            )
        )
        register_search_section(
            SearchSection(
                find=self.search,
                kinds={"courses": "course", "modules": "module"},
                template="courses/includes/search_results.html",
                vocabulary=self.search_vocabulary,
            )
        )
        register_demo_seed(course_catalogue_seed)

    def search(self, query: str) -> dict[str, list]:
        """The site search's published courses and modules."""
        return {
            "courses": list(self.get_model("Course").objects.search(query)[:SEARCH_RESULTS]),
            "modules": list(self.get_model("Module").objects.search(query)[:SEARCH_RESULTS]),
        }

    def search_vocabulary(self) -> list[str]:
        """The titles of published courses, modules and lessons, for the search page's
        spelling help."""
        return self.get_model("Course").objects.search_vocabulary()
