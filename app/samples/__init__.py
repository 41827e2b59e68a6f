"""Sample libraries for trying the app out and for benchmarks: not part of the engine."""
