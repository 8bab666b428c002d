"""Allow `python -m actionlab`."""

from actionlab.cli import run

run()
