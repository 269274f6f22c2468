"""The store's schema versions (Alembic): `cnnviz.store.upgrade` runs them; a new version is one file in
versions/ (`alembic -x ... revision` is not needed: copy the last file, bump the revision, and set
`cnnviz.store.SCHEMA_REVISION`)."""
