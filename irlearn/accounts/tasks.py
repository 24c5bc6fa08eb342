from django.core.mail import EmailMultiAlternatives
from django.tasks import task


@task
def email_send(
    *, subject: str, body: str, from_email: str, to: list[str], html: str | None = None
) -> None:
    """Send one rendered email. Runs in the worker, so a slow SMTP server never holds up a page."""
    message = EmailMultiAlternatives(subject, body, from_email, to)
    if html:
        message.attach_alternative(html, "text/html")
    message.send()
