"""Indexes for 100,000 cases: the case list, the portfolio and the follow-ups

Revision ID: 0010_performance_indexes
Revises: 0009_inquiry_mailed_at
Create Date: 2026-11-26

Issue #10. The unit's two case-list indexes now carry every column the list filters or sorts by, so a
page's count and ids come from the index alone however deep the page (workflow/services/case_list.py);
the dashboard walks a unit's cases in id order and reads their approved contract versions, open
follow-ups and stays from indexes of their own (workflow/services/portfolio.py, portfolio_sql.py).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_performance_indexes'
down_revision = '0009_inquiry_mailed_at'
branch_labels = None
depends_on = None

LIST_COLUMNS = ['legal_basis', 'owner_id', 'procurement_id', 'economy_id', 'acute', 'desired_start']
CASE_LIST = {
    'ix_purchase_cases_unit_changed': (['unit_id', 'changed_at', 'id', 'stage'], LIST_COLUMNS),
    'ix_purchase_cases_unit_stage_changed': (['unit_id', 'stage', 'changed_at', 'id'], LIST_COLUMNS),
}
NEW = {
    'purchase_cases': {
        'ix_purchase_cases_unit_started': ['unit_id', 'id', 'delivery_started_on', 'number'],
    },
    'contract_versions': {
        'ix_contract_versions_portfolio': ['case_id', 'status', 'number', 'legal_basis', 'supplier_cvr',
                                           'list_price_annual', 'start_date', 'duration_months', 'review_date',
                                           'notice_months', 'supplier_name', 'id'],
    },
    'follow_ups': {
        'ix_follow_ups_case_open': ['case_id', 'held_on', 'cancelled_on', 'due_date'],
    },
    'stage_visits': {
        'ix_stage_visits_case_left': ['case_id', 'left_at', 'stage', 'entered_at'],
    },
}


def upgrade():
    with op.batch_alter_table('purchase_cases', schema=None) as batch_op:
        for name, (leading, more) in CASE_LIST.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, leading + more, unique=False)
    for table, indexes in NEW.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes.items():
                batch_op.create_index(name, columns, unique=False)


def downgrade():
    for table, indexes in NEW.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in indexes:
                batch_op.drop_index(name)
    with op.batch_alter_table('purchase_cases', schema=None) as batch_op:
        for name, (leading, _more) in CASE_LIST.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, leading, unique=False)
