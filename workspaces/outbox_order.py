"""The column that orders an outbox table by commit safety (see ``workspaces.outbox``).

On PostgreSQL each outbox row records the id of the transaction that wrote it
(the database fills it in, so writers do nothing). A reader takes only rows whose
transaction has finished, in (transaction, id) order, so a row committed late is
never jumped over. SQLite has one writer at a time, so ids alone are in commit
order there and the column stays empty.
"""

from django.db import models


class CurrentTransactionId(models.Func):
    """The writing transaction's id on PostgreSQL; NULL elsewhere."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra_context):
        return "(pg_current_xact_id()::text::bigint)", []


def outbox_txid_field() -> models.BigIntegerField:
    return models.BigIntegerField(db_default=CurrentTransactionId(), null=True, editable=False)
