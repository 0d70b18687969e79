"""PostgreSQL guards for the ledger (no-ops on SQLite, which has no deferred triggers).

1. A DEFERRABLE INITIALLY DEFERRED constraint trigger checks, at commit, that each
   transaction touched has at least two entries that sum to zero per currency.
2. Entries and transactions refuse UPDATE and DELETE: corrections are reversing
   transactions. (TRUNCATE, used only by test teardown, fires no row triggers.)
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION payments_check_txn_balanced() RETURNS trigger AS $$
DECLARE
    txn_id bigint;
    n integer;
    bad record;
BEGIN
    IF TG_TABLE_NAME = 'payments_entry' THEN
        txn_id := NEW.transaction_id;
    ELSE
        txn_id := NEW.id;
    END IF;
    SELECT count(*) INTO n FROM payments_entry WHERE transaction_id = txn_id;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has % entries; at least 2 are required', txn_id, n
            USING ERRCODE = 'check_violation';
    END IF;
    FOR bad IN
        SELECT currency, sum(amount) AS total FROM payments_entry
        WHERE transaction_id = txn_id GROUP BY currency HAVING sum(amount) <> 0
    LOOP
        RAISE EXCEPTION 'ledger transaction % does not balance in %: entries sum to %', txn_id, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payments_entry_balanced
    AFTER INSERT ON payments_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_check_txn_balanced();

CREATE CONSTRAINT TRIGGER payments_txn_has_entries
    AFTER INSERT ON payments_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_check_txn_balanced();

CREATE OR REPLACE FUNCTION payments_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is refused; post a reversing transaction', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payments_entry_append_only
    BEFORE UPDATE OR DELETE ON payments_entry
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();

CREATE TRIGGER payments_txn_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payments_txn_append_only ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_entry_append_only ON payments_entry;
DROP FUNCTION IF EXISTS payments_refuse_change();
DROP TRIGGER IF EXISTS payments_txn_has_entries ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_entry_balanced ON payments_entry;
DROP FUNCTION IF EXISTS payments_check_txn_balanced();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the "%" of RAISE formats must reach PostgreSQL as they are.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
