"""``python -m hark`` is the ``hark`` command."""

from hark.cli import main

raise SystemExit(main())
