"""Runs, per-item counts and metrics, provider-location and finding versions, store metadata.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SNAPSHOT_FIELDS = ("npi", "provider_key", "location_key", "display_name", "provider_type", "specialty_codes",
                   "address_line1", "address_line2", "city", "state", "zip", "phone", "accepting_status",
                   "languages", "plan_ids", "network_ids", "last_updated")
FINDING_FIELDS = ("check_id", "severity", "factor_item", "record_id", "npi", "provider_name", "field",
                  "observed", "expected", "message")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("format", sa.String(40)),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("tool_version", sa.String(40), nullable=False),
        sa.Column("catalogue_version", sa.String(40), nullable=False),
        sa.Column("input_checksum", sa.String(200)),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("rows_audited", sa.Integer, nullable=False),
        sa.Column("providers_audited", sa.Integer),
        sa.Column("findings_total", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer), sa.Column("warnings", sa.Integer), sa.Column("info", sa.Integer),
        sa.Column("snapshot_digest", sa.String(16), nullable=False),
        sa.Column("findings_digest", sa.String(16), nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("manifest_sha256", sa.String(64), nullable=False),
        sa.Column("previous_manifest_sha256", sa.String(64)),
    )
    op.create_table(
        "run_items",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("factor_item", sa.String(10), primary_key=True),
        sa.Column("errors", sa.Integer, nullable=False), sa.Column("warnings", sa.Integer, nullable=False),
        sa.Column("info", sa.Integer, nullable=False),
    )
    op.create_table(
        "run_metrics",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("metric", sa.String(80), primary_key=True),
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("factor_item", sa.String(10), nullable=False),
        sa.Column("value", sa.Float),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("first_run", sa.Integer, nullable=False),
        sa.Column("last_run", sa.Integer),
        sa.Column("content_hash", sa.BigInteger, nullable=False),
        *[sa.Column(name, sa.Text) for name in SNAPSHOT_FIELDS],
    )
    op.create_index("ix_locations_first_last", "locations", ["first_run", "last_run"])
    op.create_index("ix_locations_last_first", "locations", ["last_run", "first_run"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(40), nullable=False),
        sa.Column("first_run", sa.Integer, nullable=False),
        sa.Column("last_run", sa.Integer),
        sa.Column("content_hash", sa.BigInteger, nullable=False),
        *[sa.Column(name, sa.Text) for name in FINDING_FIELDS],
    )
    op.create_index("ix_findings_first_last", "findings", ["first_run", "last_run"])
    op.create_index("ix_findings_last_first", "findings", ["last_run", "first_run"])
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text),
    )


def downgrade() -> None:
    for name in ("store_meta", "findings", "locations", "run_metrics", "run_items", "runs"):
        op.drop_table(name)
