"""Staff roles. Each group holds every permission of the apps it looks after, and nothing else."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

CONTENT_EDITORS = "Content editors"
SUBSCRIBER_MANAGERS = "Subscriber managers"

# App labels whose models each role may add, change, delete and view in the admin.
ROLE_APP_LABELS = {
    CONTENT_EDITORS: ("procedures", "courses", "pages", "stacks"),
    SUBSCRIBER_MANAGERS: ("newsletter",),
}


def roles_grant_permissions(*, apps=global_apps, using="default", **kwargs):
    """Make sure each role group exists and holds the permissions of its apps' models.

    Runs after every migrate (post_migrate), so a model added by a later issue is covered as soon
    as its migration runs. It only adds: permissions an administrator grants by hand stay.
    """
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:
        return
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=global_apps)
    for name, labels in ROLE_APP_LABELS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        permissions = Permission.objects.using(using).filter(content_type__app_label__in=labels)
        group.permissions.add(*permissions)
