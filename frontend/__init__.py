"""The desktop window's page (HTML, JS, CSS), shipped as package data (see app.desktop.assets)."""
