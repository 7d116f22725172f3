"""``python -m relu_regions``: the same as the ``relu-regions`` command."""

from relu_regions.cli import main

raise SystemExit(main())
