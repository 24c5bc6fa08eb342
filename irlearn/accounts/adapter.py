from allauth.account.adapter import DefaultAccountAdapter
from allauth.utils import build_absolute_uri

from irlearn.accounts.services import account_email_enqueue


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """Queue account emails (verification, password reset) for the worker, by reference.

        The task gets the ids of the rows that hold the address and the account, and the site's
        address as this request reached it; the worker reads the address and derives the links
        again. Nothing personal or secret waits in the task table (account_email_enqueue).
        """
        account_email_enqueue(
            template_prefix=template_prefix,
            email=email,
            user=context.get("user"),
            site_url=build_absolute_uri(context.get("request") or self.request, "/"),
        )
