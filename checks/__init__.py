"""Check families. Importing a module registers its checks; this list is the registration."""
from . import (records, placeholders, identifiers, locations, open_practice, update_frequency, languages,  # noqa: F401
               duplicates, conformance, public_access, ghost)
from . import history  # noqa: F401,E402  (compares runs; skipped without --history)
from . import feeds  # noqa: F401  (feed-level findings filed by the market sweep)
