"""The migrations are the schema: models and migrations never drift apart."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.extensions import db


def test_models_match_the_migrated_schema(app, db_session):
    """What `flask db check` checks: autogenerate finds nothing to add or change."""
    context = MigrationContext.configure(
        db.session.connection(),
        opts={"compare_type": True, "render_as_batch": True},
    )
    assert compare_metadata(context, db.metadata) == []


def test_every_table_has_a_primary_key_and_named_constraints(app, db_session):
    inspector = inspect(db.session.connection())
    for table in db.metadata.sorted_tables:
        assert inspector.get_pk_constraint(table.name)["constrained_columns"], table.name
        for foreign_key in inspector.get_foreign_keys(table.name):
            assert foreign_key["name"], f"unnamed foreign key on {table.name}"
