"""When an inquiry's mail left: inquiries.mailed_at

Revision ID: 0009_inquiry_mailed_at
Revises: 0008_append_only_logs
Create Date: 2026-11-26

An inquiry's mail (with the supplier's secret link) now leaves only after the inquiry is committed,
and mailed_at records that it did; NULL means the supplier has no working link yet and procurement
sends it again. The inquiries already there were mailed as they were sent, before this change.
"""
from alembic import op
import sqlalchemy as sa

import workflow.models.types


# revision identifiers, used by Alembic.
revision = '0009_inquiry_mailed_at'
down_revision = '0008_append_only_logs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailed_at', workflow.models.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE inquiries SET mailed_at = sent_at")


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_column('mailed_at')
