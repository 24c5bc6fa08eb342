"""PostgreSQL full-text search: a trigger keeps search_vector current, GIN indexes serve it.

The database keeps the vector right whatever writes the row (admin, shell, history revert,
bulk update). On SQLite these steps do nothing: search falls back to simple matching there.
"""

from django.db import migrations

WEIGHTED_VECTOR = """
    setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
    setweight(to_tsvector('simple', coalesce(NEW.abbreviation, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(NEW.also_known_as, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(NEW.summary, '')), 'B') ||
    setweight(to_tsvector('english',
        coalesce(NEW.what_it_is, '') || ' ' || coalesce(NEW.indications, '') || ' ' ||
        coalesce(NEW.technique, '')), 'C') ||
    setweight(to_tsvector('english',
        coalesce(NEW.contraindications, '') || ' ' || coalesce(NEW.imaging_guidance, '') || ' ' ||
        coalesce(NEW.anaesthesia, '') || ' ' || coalesce(NEW.setting_notes, '') || ' ' ||
        coalesce(NEW.aftercare, '') || ' ' || coalesce(NEW.risks, '') || ' ' ||
        coalesce(NEW.alternatives, '') || ' ' || coalesce(NEW.referral, '')), 'D')
"""

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"""
    CREATE OR REPLACE FUNCTION procedures_procedure_search_vector() RETURNS trigger AS $$
    BEGIN
        NEW.search_vector := {WEIGHTED_VECTOR};
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER procedures_procedure_search_vector_update
    BEFORE INSERT OR UPDATE ON procedures_procedure
    FOR EACH ROW EXECUTE FUNCTION procedures_procedure_search_vector()
    """,
    # Fill the vector of rows that already exist.
    "UPDATE procedures_procedure SET title = title",
    "CREATE INDEX procedures_procedure_search_gin ON procedures_procedure USING gin (search_vector)",
    "CREATE INDEX procedures_procedure_title_trgm ON procedures_procedure "
    "USING gin (title gin_trgm_ops)",
]

BACKWARD = [
    "DROP INDEX IF EXISTS procedures_procedure_title_trgm",
    "DROP INDEX IF EXISTS procedures_procedure_search_gin",
    "DROP TRIGGER IF EXISTS procedures_procedure_search_vector_update ON procedures_procedure",
    "DROP FUNCTION IF EXISTS procedures_procedure_search_vector()",
]


def run_on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("procedures", "0002_imaging_modalities")]

    operations = [migrations.RunPython(run_on_postgresql(FORWARD), run_on_postgresql(BACKWARD))]
