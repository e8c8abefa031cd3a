"""Audit and access logs append-only in the database

Revision ID: 0008_append_only_logs
Revises: 0007_api_tokens
Create Date: 2026-11-26

On PostgreSQL, row triggers refuse every UPDATE and DELETE of audit_events, access_log and
approval_events, whoever sends it: the ORM guard (workflow.models.audit.make_append_only) stops
the app's own code, these stop raw SQL, other tools and a compromised app alike.

TRUNCATE stays possible on purpose: row triggers do not fire for it, and the test suite empties
all tables with TRUNCATE between tests. Production can take it away from the app's database role
(REVOKE TRUNCATE), as only an operator with the owner's rights should wipe a whole log.

On SQLite nothing changes here: the ORM guard is the protection there.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_append_only_logs'
down_revision = '0007_api_tokens'
branch_labels = None
depends_on = None

LOGS = ('audit_events', 'access_log', 'approval_events')
FUNCTION = 'refuse_change_to_log'


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A log keeps what happened; record a new row instead.';
        END
        $$
    """)
    for table in LOGS:
        op.execute(f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
                   f'FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in LOGS:
        op.execute(f'DROP TRIGGER {table}_append_only ON {table}')
    op.execute(f'DROP FUNCTION {FUNCTION}()')
