from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "irlearn.newsletter"
    label = "newsletter"
    verbose_name = "Newsletter"

    def ready(self):
        from irlearn.accounts.services import (
            ACCOUNT_DELETION_STEPS,
            USER_DATA_SECTIONS,
            AccountDeletionStep,
        )
        from irlearn.newsletter.forms import account_deletion_fields
        from irlearn.newsletter.views import account_deletion

        # Deleting an account asks what becomes of a subscription under its address.
        ACCOUNT_DELETION_STEPS["newsletter"] = AccountDeletionStep(
            fields=account_deletion_fields, run=account_deletion
        )
        # "Download my data" holds the subscriptions under the account's addresses.
        USER_DATA_SECTIONS["newsletter"] = self.account_data

    def account_data(self, user) -> list[dict]:
        """The newsletter's part of a learner's data: each subscription under any of the
        account's addresses, with its whole consent history (what they agreed to, when, where
        and from which IP address)."""
        from django.db.models import Prefetch

        from irlearn.newsletter.models import ConsentRecord
        from irlearn.newsletter.selectors import subscribers_of_account

        def when(moment):
            return moment.isoformat() if moment else None

        records = ConsentRecord.objects.select_related("policy").order_by("created_at", "pk")
        subscribers = (
            subscribers_of_account(user)
            .prefetch_related(Prefetch("consent_records", queryset=records))
            .order_by("created_at", "pk")
        )
        return [
            {
                "email": subscriber.email,
                "status": subscriber.get_status_display(),
                "signed_up_at": when(subscriber.created_at),
                "confirmed_at": when(subscriber.confirmed_at),
                "unsubscribed_at": when(subscriber.unsubscribed_at),
                "consent_history": [
                    {
                        "event": record.get_event_display(),
                        "at": when(record.created_at),
                        "privacy_policy_version": record.policy.version if record.policy else None,
                        "wording": record.wording,
                        "source": record.source,
                        "ip_address": record.ip_address,
                    }
                    for record in subscriber.consent_records.all()
                ],
            }
            for subscriber in subscribers
        ]
