from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "irlearn.newsletter"
    label = "newsletter"
    verbose_name = "Newsletter"

    def ready(self):
        from irlearn.accounts.services import ACCOUNT_DELETION_STEPS, AccountDeletionStep
        from irlearn.newsletter.forms import account_deletion_fields
        from irlearn.newsletter.views import account_deletion

        # Deleting an account asks what becomes of a subscription under its address.
        ACCOUNT_DELETION_STEPS["newsletter"] = AccountDeletionStep(
            fields=account_deletion_fields, run=account_deletion
        )
