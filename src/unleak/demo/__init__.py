"""`unleak demo`: the whole system end to end on benign sample photos. Nothing in the library
imports this package; it imports the library like any other user would."""

from unleak.demo.run import run

__all__ = ["run"]
