#!/usr/bin/env python3
"""Land CSV files into the lake (local or S3): `lakehouse land` under its former name.

Kept for the pipelines that run `python scripts/land_csv.py ...` with the same arguments; the
code is lakehouse.land (installed by `make install`).
"""

from lakehouse.land import main

if __name__ == "__main__":
    raise SystemExit(main())
