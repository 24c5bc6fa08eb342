from django.tasks import task


@task
def account_email_send(
    *,
    template_prefix: str,
    site_url: str,
    user_id: int | None = None,
    email_address_id: int | None = None,
    queued_address_id: int | None = None,
) -> None:
    """Build one account email (verification, password reset...) and send it. Runs in the
    worker, so a slow SMTP server never holds up a page.

    The arguments name rows, never the address or a link (irlearn/accounts/emails.py): they
    stay in the task table after the email has gone.
    """
    from irlearn.accounts.emails import account_email_message, queued_address_forget

    try:
        message = account_email_message(
            template_prefix=template_prefix,
            site_url=site_url,
            user_id=user_id,
            email_address_id=email_address_id,
            queued_address_id=queued_address_id,
        )
        if message is not None:
            message.send()
    finally:
        if queued_address_id is not None:
            queued_address_forget(queued_address_id=queued_address_id)
