"""Pieces the apps' admins share."""

from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename, get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from irlearn.content import content_publish, content_unpublish
from irlearn.pagecache import content_rows_changed

# The date hierarchy's links go from a year to the next one, which Python cannot write past 9998.
DATE_HIERARCHY_YEARS = range(1, 9999)


def pk_or_404(model, object_id):
    """The primary key that an admin URL's ``object_id`` names, or 404 if it cannot be one.

    Django's own change and delete views do this; views added with ``get_urls`` (reports,
    history) must too, or an id such as "abc" fails in the database with a 500.
    """
    try:
        return model._meta.pk.to_python(unquote(object_id))
    except (ValidationError, ValueError, TypeError) as error:
        raise Http404(f"No {model._meta.verbose_name} with that id.") from error


class SafeChangeListMixin:
    """A change list that treats an impossible date-hierarchy year as a bad lookup.

    Django builds the range ``year`` to ``year + 1`` before any check, so ``?created_at__year=9999``
    fails with an OverflowError (a 500); here it gets Django's "incorrect lookup" page instead.
    """

    def get_changelist_instance(self, request):
        if self.date_hierarchy:
            year = request.GET.get(f"{self.date_hierarchy}__year")
            if year is not None and not (year.isdigit() and int(year) in DATE_HIERARCHY_YEARS):
                raise IncorrectLookupParameters(f"No year {year[:10]!r} in the date hierarchy.")
        return super().get_changelist_instance(request)


class HistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's admin, with a 404 for an object or version id that cannot exist
    (its views pass the raw id to the database).

    Its history list names who made each change as plain text unless the viewer may open that
    person's page in the admin (a content editor may not), and shows the "change reason" column
    only when a change on the page has one (nothing here sets one).
    """

    object_history_list_template = "admin/history/object_history_list.html"

    def render_history_view(self, request, template, context, **kwargs):
        if "page_obj" in context:
            user_opts = get_user_model()._meta
            context["can_open_users"] = request.user.has_perm(
                f"{user_opts.app_label}.{get_permission_codename('view', user_opts)}"
            ) or request.user.has_perm(
                f"{user_opts.app_label}.{get_permission_codename('change', user_opts)}"
            )
            context["has_change_reasons"] = any(
                record.history_change_reason for record in context["page_obj"]
            )
        return super().render_history_view(request, template, context, **kwargs)

    def history_view(self, request, object_id, extra_context=None):
        pk_or_404(self.model, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        pk_or_404(self.model, object_id)
        pk_or_404(self.model.history.model, version_id)
        return super().history_form_view(
            request, object_id, version_id, extra_context=extra_context
        )


class SortableAdmin(SortableAdminMixin):
    """django-admin-sortable2's drag-and-drop change list, whose new order is on the public site
    at the next request.

    Its reorder endpoint writes the order with ``bulk_update``, which sends no signals, so the
    page cache would not notice (irlearn/pagecache.py): it is told here. Its "move to page"
    actions save row by row and send them.
    """

    def update_order(self, request):
        response = super().update_order(request)
        if response.status_code == 200:
            content_rows_changed(self.model)
        return response


class PublishActionsMixin:
    """The "Publish" and "Unpublish" bulk actions of a change list of publishable content
    (irlearn.content). List them in the admin's ``actions``."""

    @admin.action(description="Publish selected %(verbose_name_plural)s", permissions=["change"])
    def publish(self, request, queryset):
        count = content_publish(objects=queryset)
        self.message_user(
            request, f"Published {count} {self.opts.verbose_name}(s).", messages.SUCCESS
        )

    @admin.action(
        description="Unpublish selected %(verbose_name_plural)s (back to draft)",
        permissions=["change"],
    )
    def unpublish(self, request, queryset):
        count = content_unpublish(objects=queryset)
        self.message_user(
            request, f"Returned {count} {self.opts.verbose_name}(s) to draft.", messages.SUCCESS
        )


def preview_link(obj, *, live: bool) -> str:
    """A link from ``obj``'s change form to its page on the site: the live page, or the draft
    as learners will see it (staff open drafts)."""
    if not obj.pk:
        return f"Save the {obj._meta.verbose_name} to preview it."
    label = "Open the live page" if live else "Preview the draft as learners will see it"
    return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), label)


class ReadOnlyAdmin(SafeChangeListMixin, admin.ModelAdmin):
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
    return admin_page(
        model_admin,
        request,
        template,
        title=title,
        action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
        action_field=action_field,
        back_url=request.get_full_path(),
        action=action,
        objects=objects,
        **context,
    )


# Pages of a model admin's own beside Django's (a course's report, the subscriber import): their
# URLs, the object they are about, and the page in the admin's frame.


def admin_page_path(model_admin, route: str, view, name: str) -> URLPattern:
    """``route`` among ``model_admin``'s URLs (put it before Django's, in ``get_urls``), behind
    the admin's login, named ``admin:<app label>_<model name>_<name>``."""
    opts = model_admin.opts
    return path(
        route,
        model_admin.admin_site.admin_view(view),
        name=f"{opts.app_label}_{opts.model_name}_{name}",
    )


def admin_page_object(model_admin, request, object_id, *, permission: str = "view"):
    """The object that an admin page's ``object_id`` names, found as Django's change view finds
    it: PermissionDenied for a user without the model's ``permission`` ("view", "change"...),
    then a 404 for an id that names no object or cannot be one. The permission is the model's,
    not the object's: a page may answer for an object that its change form no longer edits (a
    sent issue)."""
    if not getattr(model_admin, f"has_{permission}_permission")(request):
        raise PermissionDenied
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} with that id.")
    return obj


def admin_page(model_admin, request, template: str, *, title: str, **context) -> TemplateResponse:
    """``template`` in the admin's frame: the site's header, sidebar and breadcrumbs of
    ``model_admin``'s model, under ``title``."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        **context,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, template, context)
