#!/usr/bin/env python3
"""Generate a deterministic transactions CSV with known invalid records: `lakehouse generate`
under its former name.

Kept for the pipelines that run `python scripts/generate_transactions.py ...` with the same
arguments; the code is lakehouse.generate (installed by `make install`).
"""

from lakehouse.generate import main

if __name__ == "__main__":
    raise SystemExit(main())
