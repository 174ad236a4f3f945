"""How a leak spread: the derivation tree of an item's copies, the likely first public copy, and a
per-host timeline. An estimate from what can be measured; see unleak.spread.tree for how."""

from unleak.spread.features import Copy, Reference, describe_image, describe_video, reference
from unleak.spread.tree import Edge, Lineage, estimate, pair_cost

__all__ = [
    "Copy",
    "Edge",
    "Lineage",
    "Reference",
    "describe_image",
    "describe_video",
    "estimate",
    "pair_cost",
    "reference",
]
