"""Pieces the apps' admins share."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the app writes and nobody edits: staff with view permission may only read them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Admin actions offered both on the change list and on one object's page.
ON_LIST_AND_FORM = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]


def action_confirmation(
    model_admin, request, *, template: str, title: str, action: str, objects, **context
):
    """The page that asks "are you sure?" before the admin action ``action`` goes ahead on
    ``objects``. ``template`` extends admin/action_confirmation.html.

    The action came from the change list or from one object's page; the page posts back the
    same action field, so the answer reaches the same action.
    """
    action_field = next(
        (
            name
            for name in (f"{admin.ActionLocation.CHANGE_FORM.value}-action", "action")
            if name in request.POST
        ),
        "action",
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_field": action_field,
        "back_url": request.get_full_path(),
        "action": action,
        "objects": objects,
        **context,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, context)
