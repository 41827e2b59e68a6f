"""Benchmarks (`make bench`): the project's upgrade against the floor and the original.

Not part of `make test`: timings are measured here, as ratios against a baseline measured
in the same run on copies of the same file, and written into README.
"""

from app.engine.steps.v11.split_pass import peak_rss_mb

__all__ = ["peak_rss_mb"]
