#!/usr/bin/env python3
"""Publish the marts of a build whose tests all passed: `lakehouse publish` under its former name.

Kept for the pipelines that run `python scripts/publish.py ...` with the same arguments; the
code is lakehouse.publish (installed by `make install`).
"""

from lakehouse.publish import main

if __name__ == "__main__":
    raise SystemExit(main())
