"""Alembic migrations of the history store (``directory_audit.history``), run by ``Store.migrate`` on
every open so a store written by an older version is upgraded in place. Shipped as package data."""
