"""Check families. Importing a module registers its checks; this list is the registration."""
from . import records, identifiers, locations, open_practice, update_frequency, languages, duplicates, conformance, public_access  # noqa: F401
from . import history  # noqa: F401,E402  (compares runs; skipped without --history)
