"""Consent records kept the confirmation and unsubscribe links people used, tokens and all, and a
confirmation token held the address (compressed base64), so it outlived erasure. Keep the pages
and drop the tokens; and name staff by their id, not their address or name, as new records do."""

import re

from django.db import migrations
from django.db.models import Q

# As in irlearn/newsletter/services.py (LINK_TOKEN), frozen here.
LINK_TOKEN = re.compile(r"(/newsletter/(?:confirm|unsubscribe)/)[^/?#\s]+/?")
STAFF_BY_ADDRESS = re.compile(r"^admin user \S+@\S+$")


def sources_without_tokens(apps, schema_editor):
    ConsentRecord = apps.get_model("newsletter", "ConsentRecord")
    records = ConsentRecord.objects.filter(
        Q(source__contains="/newsletter/")
        | Q(source__startswith="admin user ")
        | Q(source__startswith="import ", actor__isnull=False)
    ).select_related("actor")
    for record in records.iterator(chunk_size=2000):
        source = LINK_TOKEN.sub(r"\1", record.source)
        if STAFF_BY_ADDRESS.match(source):
            source = f"admin user #{record.actor_id}" if record.actor_id else "admin user"
        elif source.startswith("import ") and record.actor_id:
            # "import <file> by <the actor's name, or address when they had no name>"
            for name in (record.actor.full_name, record.actor.email):
                if name and source.endswith(f" by {name}"):
                    source = source.removesuffix(name) + f"admin user #{record.actor_id}"
                    break
        if source != record.source:
            ConsentRecord.objects.filter(pk=record.pk).update(source=source)


class Migration(migrations.Migration):
    dependencies = [("newsletter", "0001_initial")]

    operations = [migrations.RunPython(sources_without_tokens, migrations.RunPython.noop)]
