from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "procedures"
    verbose_name = "Procedure library"

    def ready(self):
        from irlearn.demo import register_demo_seed
        from irlearn.pagecache import register_content_models
        from irlearn.search import SearchSection, register_search_section
        from procedures.demo import procedure_library_seed

        # Rows the library's pages show: a change retires the cached pages.
        register_content_models(
            *(
                self.get_model(name)
                for name in ["Category", "ImagingModality", "Procedure", "Figure"]
            )
        )
        register_search_section(
            SearchSection(
                find=self.search,
                kinds={"procedures": "procedure"},
                template="procedures/includes/search_results.html",
                vocabulary=self.search_vocabulary,
            )
        )
        register_demo_seed(procedure_library_seed)

    def search(self, query: str) -> dict[str, list]:
        """The site search's procedures: published ones, best first, with snippets."""
        return {"procedures": self.get_model("Procedure").objects.search(query)}

    def search_vocabulary(self) -> list[str]:
        """The names of published procedures, for the search page's spelling help."""
        return self.get_model("Procedure").objects.search_vocabulary()
