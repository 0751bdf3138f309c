"""Alembic environment: runs against the connection c360 hands it."""

from alembic import context

from c360.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - c360 always passes a connection
    raise RuntimeError("c360 migrations run through c360.store.Store.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
