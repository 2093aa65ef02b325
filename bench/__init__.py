"""The fleet benchmark (issue 7): `bin/bench`, see bench/run.py."""
