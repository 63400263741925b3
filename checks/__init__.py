"""Check families. Importing a module registers its checks; this list is the registration."""
from . import records, identifiers  # noqa: F401
