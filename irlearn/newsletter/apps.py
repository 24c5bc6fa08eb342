from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "irlearn.newsletter"
    label = "newsletter"
    verbose_name = "Newsletter"
