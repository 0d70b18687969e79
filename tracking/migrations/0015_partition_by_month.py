"""Partition clicks, postback log rows and conversion events by month (PostgreSQL only).

Each table is rebuilt as a partitioned one with its rows, indexes and constraints
(tracking/partitions.py ``convert``): a month partition for every month from its oldest row
to three months ahead, and a default partition for anything else. The tables are locked
while their rows are copied; README "Data that grows for years" gives the time it takes.
Reversible: migrating back to 0014 rebuilds plain tables with the same rows.
"""

from django.db import migrations

from tracking import partitions


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in partitions.PARTITIONED:
            partitions.convert(cursor, table, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in partitions.PARTITIONED:
            partitions.convert(cursor, table, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0014_keys_for_partitions")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
