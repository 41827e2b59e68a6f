"""The canonical schema files, shipped as package data (see app.engine.schema)."""
