from allauth.account.adapter import DefaultAccountAdapter
from allauth.utils import build_absolute_uri

from irlearn.accounts.services import account_email_enqueue
from irlearn.mail import UnfoldedEmail


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

    def render_mail(self, template_prefix, email, context, headers=None):
        """allauth's message as an UnfoldedEmail: a link in the text part stays one whole line
        instead of quoted-printable pieces, so it can be opened from any mail client, and
        copied from the console in development."""
        message = super().render_mail(template_prefix, email, context, headers=headers)
        unfolded = UnfoldedEmail(
            message.subject,
            message.body,
            message.from_email,
            message.to,
            headers=message.extra_headers,
        )
        unfolded.content_subtype = message.content_subtype
        for content, mimetype in getattr(message, "alternatives", []):
            unfolded.attach_alternative(content, mimetype)
        return unfolded
