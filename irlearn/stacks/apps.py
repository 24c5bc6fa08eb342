from django.apps import AppConfig


class StacksConfig(AppConfig):
    name = "irlearn.stacks"
    label = "stacks"
    verbose_name = "Image stacks"

    def ready(self):
        from irlearn.pagecache import register_content_models

        # A stack processed again changes every page that shows it.
        register_content_models(self.get_model("ImageStack"))
