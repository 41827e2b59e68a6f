"""The frozen app's entry script: exactly what `python -m app` and the
`library-upgrade` console script run, `app.cli:main`."""

from app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
