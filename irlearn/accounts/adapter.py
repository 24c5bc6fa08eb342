from allauth.account.adapter import DefaultAccountAdapter

from irlearn.accounts.tasks import email_send


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """Render account emails (verification, password reset) now; send them from the worker.

        The message is complete when enqueued (links carry signed keys), so the worker needs
        nothing from the database and the email is the same whichever task backend runs it.
        """
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (
                content
                for content, mimetype in getattr(message, "alternatives", [])
                if mimetype == "text/html"
            ),
            None,
        )
        email_send.enqueue(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=list(message.to),
            html=html,
        )
