from django.apps import AppConfig


class ProceduresConfig(AppConfig):
    name = "procedures"
    verbose_name = "Procedure library"

    def ready(self):
        from irlearn.pagecache import register_content_models

        # Rows the library's pages show: a change retires the cached pages.
        register_content_models(
            *(
                self.get_model(name)
                for name in ["Category", "ImagingModality", "Procedure", "Figure"]
            )
        )
