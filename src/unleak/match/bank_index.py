"""The bank's indexes now live beside their signal types (unleak.signals.indexes, unleak.signals.vpdq)."""

from unleak.signals.indexes import ExactLookup, PdqBankIndex
from unleak.signals.vpdq import VideoBankIndex

__all__ = ["ExactLookup", "PdqBankIndex", "VideoBankIndex"]
