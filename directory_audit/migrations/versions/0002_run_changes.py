"""Per-run network changes (T2.iii) and last-updated facts (T1.ii): one row per run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHANGE_COUNTS = ("rows_added", "rows_removed", "rows_changed", "providers_joined", "providers_left",
                 "locations_opened", "locations_closed", "accepting_on", "accepting_off", "last_updated_changed",
                 "findings_new", "findings_resolved")


def upgrade() -> None:
    op.create_table(
        "run_changes",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("previous_run_id", sa.Integer),
        *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in CHANGE_COUNTS],
        sa.Column("newest_last_updated", sa.String(10)),
        sa.Column("distinct_last_updated", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("run_changes")
