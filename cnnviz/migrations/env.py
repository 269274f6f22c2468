"""Alembic's environment for the store: migrations run on the connection `cnnviz.store.upgrade` hands
over (in its transaction), never from a URL of their own."""

from alembic import context


def run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


try:
    context.config  # noqa: B018 (only set when Alembic runs this file)
except NameError:  # imported outside Alembic (pytest's doctest collection): nothing to do
    pass
else:
    run()
