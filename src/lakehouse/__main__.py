"""``python -m lakehouse``: the same as the ``lakehouse`` command."""

from lakehouse.cli import main

raise SystemExit(main())
