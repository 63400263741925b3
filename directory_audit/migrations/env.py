"""Alembic environment: the history store passes its open connection in ``config.attributes``;
there is no alembic.ini and no offline mode."""
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
