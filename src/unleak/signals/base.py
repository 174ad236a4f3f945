"""What every signal type provides; one subclass per algorithm, found through the registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from unleak.media.sniff import MediaKind

if TYPE_CHECKING:
    from unleak.signals.media import Media


@dataclass(frozen=True)
class Signal:
    """A fingerprint of one piece of media by one algorithm: a small value, `a - b` is a distance."""

    type: str
    value: str
    quality: int | None = None

    def __sub__(self, other: Signal) -> int:
        if other.type != self.type:
            raise TypeError(f"cannot compare a {self.type} signal with a {other.type} signal")
        from unleak.signals.registry import get_signal_type

        return get_signal_type(self.type).distance(self.value, other.value)

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


class SignalType(ABC):
    """One fingerprinting algorithm: how to compute it, compare it and when two values match."""

    name: ClassVar[str]
    media: ClassVar[frozenset[MediaKind]]
    threshold: ClassVar[int]  # largest distance that counts as a match by default

    @classmethod
    @abstractmethod
    def compute(cls, media: Media, *, fast: bool = False) -> Signal:
        """Fingerprint the media. `fast` may trade exactness for speed (candidates only)."""

    @classmethod
    @abstractmethod
    def distance(cls, a: str, b: str) -> int:
        """Distance between two values; 0 for identical."""

    @classmethod
    def validate(cls, value: str) -> str:
        """Return the canonical form of a value, or raise ValueError."""
        return value
