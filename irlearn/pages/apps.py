from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "irlearn.pages"
    label = "pages"
    verbose_name = "Site pages"

    def ready(self):
        from irlearn import pagecache

        pagecache.connect_signals()
