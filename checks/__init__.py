"""Check families. Importing a module registers its checks; this list is the registration."""
from . import records, identifiers, locations, open_practice, update_frequency, languages, duplicates, conformance, public_access  # noqa: F401
