"""What every signal type provides; one subclass per algorithm, found through the registry.

A signal type brings everything the rest of unleak needs to use it, so that the bank, the
matcher, `unleak hash`, exports and imports work with any registered type, built in or plug-in:

- `compute`: the value from a piece of media (`fast` may trade exactness for speed);
- `distance` and `threshold`: how near two values are, and how near counts as a match;
- `validate`: the canonical text form of a value, or `InvalidSignal` with a one-line reason;
- `min_quality` / `usable`: the quality rule (values below it are stored but not searched);
- `build_index`: the index hook, how the matcher holds a bank's values and searches them
  (PDQ: a Hamming index; exact digests: a sorted lookup; the default: a linear scan);
- `examples`: known values, and media with the value it must give, for the contract kit
  (`unleak.signals.testing.SignalTypeContract`);
- `exchange_names`: its name in python-threatexchange / HMA hash lists, per kind of bank item.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from unleak.errors import UnleakError
from unleak.media.sniff import MediaKind

if TYPE_CHECKING:
    from unleak.signals.media import Media


class InvalidSignal(UnleakError, ValueError):
    """A value that is not in its signal type's text form (a ValueError too, for older callers)."""


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


@dataclass(frozen=True)
class Example:
    """A known value of a signal type; with `media`, the media that must give exactly this value."""

    value: str
    media: Callable[[], Media] | None = None
    quality: int | None = None  # the quality `compute` must report, when it reports one


@dataclass(frozen=True)
class IndexHit:
    """A bank item whose value lies within a type's match rule of a query.

    `details` may carry what the match reports besides the distance (e.g. vPDQ's
    `query_match_percent`), `false_match_rate` when the type can estimate it, or
    `pdq_comparisons` (how many PDQ frame pairs stood behind it, for the matcher's null model)."""

    item_id: int
    distance: int
    details: Mapping[str, Any] = field(default_factory=dict)


# (signal row id, bank item id, label, value[, variant]), as from Bank.active_signals
BankRow = Sequence[Any]


class SignalIndex(Protocol):
    """The matcher's view of one type's bank values: build once from bank rows, query many times."""

    def __len__(self) -> int: ...

    def query(self, signal: Signal) -> list[IndexHit]: ...


class SignalType(ABC):
    """One fingerprinting algorithm: how to compute it, compare it and when two values match."""

    name: ClassVar[str]  # lower_snake_case, stored with every value
    media: ClassVar[frozenset[MediaKind]]
    threshold: ClassVar[int]  # largest distance that counts as a match by default
    exact: ClassVar[bool] = False  # a match means the same bytes (reported with a false-match rate of 0)
    min_quality: ClassVar[int | None] = None  # quality rule: values below are not searched
    # Bank item kind ("image", "video", or "hash" for imported values) -> this type's name in
    # python-threatexchange / HMA hash lists (`pdq`, `video_md5`, ...). Absent: not exchanged.
    exchange_names: ClassVar[Mapping[str, str]] = {}

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
        """Return the canonical form of a value, or raise InvalidSignal saying what is wrong."""
        value = value.strip()
        if not value:
            raise InvalidSignal(f"not a {cls.name} value: it is empty")
        return value

    @classmethod
    def is_match(cls, a: str, b: str, threshold: int | None = None) -> bool:
        return cls.distance(a, b) <= (cls.threshold if threshold is None else threshold)

    @classmethod
    def usable(cls, signal: Signal) -> bool:
        """The quality rule: whether a value is good enough to search with."""
        return cls.min_quality is None or signal.quality is None or signal.quality >= cls.min_quality

    @classmethod
    def build_index(cls, rows: Sequence[BankRow]) -> SignalIndex:
        """The index hook. The default compares a query with every bank value (fine for small banks);
        a type with a faster structure returns it here."""
        return LinearIndex(cls, rows)

    @classmethod
    def examples(cls) -> list[Example]:
        """Known values (and media) for tests and demos."""
        return []

    @classmethod
    def exchange_name(cls, kind: str) -> str | None:
        """This type's name in threatexchange / HMA lists for a bank item of this kind, if exchanged."""
        return cls.exchange_names.get(kind)

    @classmethod
    def to_json(cls, signal: Signal) -> dict[str, Any]:
        """The signal's keys in `--json` output: `{name: value, name_quality: quality}`."""
        out: dict[str, Any] = {cls.name: signal.value}
        if signal.quality is not None:
            out[f"{cls.name}_quality"] = signal.quality
        return out

    @classmethod
    def summary(cls, signal: Signal) -> str:
        """The value as a table shows it."""
        return signal.value


class LinearIndex:
    """Every bank value compared with the query by the type's own `distance` (threatexchange's
    TrivialLinearSearchHashIndex): correct for any type, linear in the bank's size."""

    def __init__(self, signal_type: type[SignalType], rows: Sequence[BankRow]) -> None:
        self.signal_type = signal_type
        self.items = [int(r[1]) for r in rows]
        self.values = [str(r[3]) for r in rows]

    def __len__(self) -> int:
        return len(self.values)

    def query(self, signal: Signal) -> list[IndexHit]:
        t = self.signal_type
        hits = []
        for item_id, value in zip(self.items, self.values):
            d = t.distance(signal.value, value)
            if d <= t.threshold:
                hits.append(IndexHit(item_id, d))
        return hits
