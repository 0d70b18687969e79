# The report rollups now belong to the reports app. Only Django's record of the models
# changes here; the tables and their rows stay, and reports/migrations/0001_initial.py
# takes them over.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tracking', '0007_conversion_alias'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='RollupWatermark'),
                migrations.DeleteModel(name='DailyRollup'),
                migrations.DeleteModel(name='RollupDirtyDay'),
            ],
            database_operations=[],
        ),
    ]
