"""The frozen app's entry script: exactly what `python -m app` and the
`library-upgrade` console script run, `app.cli:main`; and, with the one hidden flag
`--split-pass-helper`, the upgrade's helper process (`app.engine.steps.v11.split_pass`), which a
frozen app cannot start as `python -m`."""

import sys

from app.engine.steps.v11 import split_pass

if __name__ == "__main__":
    if sys.argv[1:] == [split_pass.HELPER_FLAG]:
        raise SystemExit(split_pass.main())  # without importing the CLI and the window
    from app.cli import main

    raise SystemExit(main())
