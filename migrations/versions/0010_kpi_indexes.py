"""KPI indexes (issue 9, item 2): each business's latest observation by a day without a
sort (business_id, observed_on DESC, id DESC), and a founder's businesses by opening date
for the opening rate (founder_id, opened_on)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('business_observation', schema=None) as batch_op:
        batch_op.create_index(
            'ix_business_observation_recent',
            ['business_id', sa.text('observed_on DESC'), sa.text('id DESC')],
            unique=False,
        )
    with op.batch_alter_table('business', schema=None) as batch_op:
        batch_op.create_index('ix_business_founder_opened', ['founder_id', 'opened_on'], unique=False)


def downgrade():
    with op.batch_alter_table('business', schema=None) as batch_op:
        batch_op.drop_index('ix_business_founder_opened')
    with op.batch_alter_table('business_observation', schema=None) as batch_op:
        batch_op.drop_index('ix_business_observation_recent')
