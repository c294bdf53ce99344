"""security review fixes: user_account.must_change_password (a password someone else set
is replaced at first sign-in) and id_search_allowance (last-4 ID searches per user and
hour)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Existing accounts keep their passwords: only passwords set from now on are flagged.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table('id_search_allowance',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('searches', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_id_search_allowance_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_id_search_allowance'))
    )


def downgrade():
    op.drop_table('id_search_allowance')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
