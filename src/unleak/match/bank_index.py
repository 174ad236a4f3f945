"""The bank's indexes now live beside their signal types, in unleak.signals.indexes."""

from unleak.signals.indexes import ExactLookup, PdqBankIndex, VideoBankIndex

__all__ = ["ExactLookup", "PdqBankIndex", "VideoBankIndex"]
