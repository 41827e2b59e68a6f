"""Library upgrade for the meeting-recorder app: V10 -> V11, safely.

`app.engine` is the headless core (no GUI imports); `app.cli` is one door onto it.
"""

__version__ = "0.1.0"
