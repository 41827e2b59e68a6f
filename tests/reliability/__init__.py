"""Reliability suite (issue 4): faults, crashes, races, bad libraries, properties, redaction."""
