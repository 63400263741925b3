"""Time ijson's backends reading the provider objects of a QHP providers.json, as the QHP loader does
(``ijson.items(fh, "item", use_float=True)``), over the whole file or its first ``--mb`` megabytes.

    python benchmarks/ijson_backends.py benchmarks/data/providers_300000.json [--mb 50]

Only the backends installed here are tried (yajl2_c, the C extension ijson ships wheels with, and the
pure-Python one); yajl2_cffi and yajl2 need a system libyajl this project does not ask for.
"""
from __future__ import annotations

import argparse
import io
import resource
import time

import ijson


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--mb", type=float, default=0, help="read only this many MB (closing the array there)")
    args = ap.parse_args()
    with open(args.path, "rb") as fh:
        data = fh.read(int(args.mb * 1e6)) if args.mb else fh.read()
    if args.mb:                         # cut after the last whole provider object and close the array
        data = data[: data.rfind(b"},\n") + 1] + b"\n]"
    for name in ("yajl2_c", "yajl2_cffi", "yajl2", "python"):
        try:
            backend = ijson.get_backend(name)
        except Exception as exc:        # noqa: BLE001 - a backend not installed here
            print(f"{name}: not available ({type(exc).__name__})")
            continue
        t = time.perf_counter()
        n = sum(1 for _ in backend.items(io.BytesIO(data), "item", use_float=True))
        s = time.perf_counter() - t
        print(f"{name}: {n:,} providers, {len(data) / 1e6:.0f} MB in {s:.2f} s ({len(data) / 1e6 / s:.0f} MB/s); "
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
