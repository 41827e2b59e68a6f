"""The headless engine: status, migrate, rollback and cleanup of a library.

It imports no GUI. The CLI (`app.cli`) and the window's JS facade are two thin doors onto
the operations exported here; each returns a pydantic result and never raises for an
expected failure.
"""
