from django.apps import AppConfig


class StacksConfig(AppConfig):
    name = "irlearn.stacks"
    label = "stacks"
    verbose_name = "Image stacks"

    def ready(self):
        from irlearn.demo import register_demo_seed
        from irlearn.pagecache import register_content_models
        from irlearn.stacks.demo import image_stack_seed

        # A stack processed again changes every page that shows it.
        register_content_models(self.get_model("ImageStack"))
        # Seeds run in the order of INSTALLED_APPS: this app comes before procedures and
        # courses, whose demo content places these stacks by slug.
        register_demo_seed(image_stack_seed)
