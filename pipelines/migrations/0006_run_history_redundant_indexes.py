"""Drop three indexes that a composite index already covers, without rebuilding tables.

Every stored run wrote each of them: the run's ``pipeline_id`` index (covered by
``(pipeline_id, create_time DESC)``), and the ``run_id`` indexes of its component runs
and events (covered by their ``(run_id, component_id)`` and ``(run_id, seq)`` unique
constraints). ``AlterField(db_index=False)`` alone would make SQLite copy each table;
the index names are Django's, the same on every backend.
"""

import django.db.models.deletion
from django.db import migrations, models

# (model, foreign key, its related name, target, the index Django named for it)
FOREIGN_KEYS = [
    ("componentrun", "run", "component_runs", "pipelines.pipelinerun", "pipelines_componentrun_run_id_9f8c8711"),
    ("pipelinerun", "pipeline", "runs", "pipelines.pipeline", "pipelines_pipelinerun_pipeline_id_a666c2d0"),
    ("runevent", "run", "events", "pipelines.pipelinerun", "pipelines_runevent_run_id_acd28949"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines", "0005_pipeline_display_name_creator"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=model,
                    name=name,
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name=related, to=to
                    ),
                )
                for model, name, related, to, _ in FOREIGN_KEYS
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "pipelines_{model}" ("{name}_id")',
                )
                for model, name, _, _, index in FOREIGN_KEYS
            ],
        ),
    ]
