"""The first schema: learners, runs and their files, own classes and their examples, each learner's
small state (page settings, the lesson in progress), and the servers that train.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KEY = sa.String(64)  # a learner's key: the SHA-256 of their id, in hex


def upgrade() -> None:
    op.create_table(
        "learners",
        sa.Column("key", KEY, primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("seen", sa.Float, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("learner", KEY, nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("finished", sa.Float),
        sa.Column("params", sa.Integer),
        sa.Column("train_seconds", sa.Float),
        sa.Column("test_accuracy", sa.Float),
        sa.Column("epochs", sa.Text, nullable=False),
        sa.Column("batches", sa.Text, nullable=False),
        sa.Column("server", sa.String(32)),
        sa.UniqueConstraint("learner", "number", name="runs_learner_number"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("learner", KEY, nullable=False, index=True),
        sa.Column("run", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("epoch", sa.Integer),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("run", "path", name="files_run_path"),
    )
    op.create_table(
        "own_classes",
        sa.Column("learner", KEY, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("layout", sa.Text, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "own_examples",
        sa.Column("learner", KEY, primary_key=True),
        sa.Column("digest", sa.String(32), primary_key=True),
        sa.Column("png", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "learner_state",
        sa.Column("learner", KEY, primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "servers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("heartbeat", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in ("servers", "learner_state", "own_examples", "own_classes", "files", "runs", "learners"):
        op.drop_table(name)
