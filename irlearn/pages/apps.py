from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "irlearn.pages"
    label = "pages"
    verbose_name = "Site pages"

    def ready(self):
        from irlearn.pagecache import register_content_models

        register_content_models(self.get_model("Page"), self.get_model("PrivacyPolicy"))
