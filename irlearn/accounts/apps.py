from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "irlearn.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from irlearn.accounts.demo import demo_accounts_seed
        from irlearn.accounts.roles import roles_grant_permissions
        from irlearn.demo import register_demo_seed

        # Like Django's own create_permissions: models added by later migrations get their
        # role permissions without anyone editing groups by hand.
        post_migrate.connect(
            roles_grant_permissions, sender=self, dispatch_uid="irlearn.accounts.roles"
        )
        register_demo_seed(demo_accounts_seed, creates_accounts=True)
