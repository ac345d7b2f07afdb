"""Alembic environment of the state store: always run by leadsync itself on a connection it passes in.

`StateStore.create_schema()` opens the transaction, takes the upgrade lock and hands the connection
over in `config.attributes["connection"]`; there is no alembic.ini and no URL here.
"""

from __future__ import annotations

from alembic import context

from flows.state.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through leadsync (StateStore.create_schema), which passes the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
