"""The desktop window: a pywebview shell over the engine.

Nothing here opens the database: the page reaches the engine only through the
functions of `app.desktop.api`, and hears about progress only through page events pushed
by `app.desktop.page`. `app.desktop.shell` wires both to one window.
"""
