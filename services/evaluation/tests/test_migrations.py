"""The migrations build exactly the tables the models describe (on PostgreSQL)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

pytestmark = pytest.mark.servers


def test_migrations_match_the_models(stack_of):
    stack = stack_of("evaluation")
    with stack.runtime.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            d for d in compare_metadata(context, stack.service.metadata) if "alembic_version_evaluation" not in str(d)
        ]
    assert differences == []
