"""`/m/lookup?variants=true` compares published items' bank-side crops (`BankSideVariants`): every
crop published is compared, once, and none ever answers for content that is gone."""

from __future__ import annotations

import random

from unleak import platform_banks as pb
from unleak.store.models import PlatformSignal


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _publish(store, bank: str, rng: random.Random) -> tuple[int, str]:
    """One content item with one centre-crop variant, as `publish_case` writes it."""
    crop = _hex(rng)
    with store.session() as s:
        cid = pb.add_content(s, bank, {"pdq": _hex(rng)}).id
        s.add(PlatformSignal(content_id=cid, type=pb.VARIANT_PREFIX + "crop:1x1", value=crop))
    return cid, crop


def _found(store, side: pb.BankSideVariants, crop: str) -> list[tuple[int, str, int]]:
    with store.session() as s:
        side.refresh(s)
    return side.query(crop, 0)


class _ReadTooEarly:
    """A session whose first answer (the newest row id) was read before a publish committed."""

    def __init__(self, s, stale: int) -> None:
        self._s, self._stale = s, stale

    def scalar(self, *args, **kwargs):
        return self._stale

    def __getattr__(self, name):
        return getattr(self._s, name)


def test_a_crop_published_during_a_refresh_is_added_once(store):
    rng = random.Random(1)
    with store.session() as s:
        pb.create_bank(s, "CROPS", None, None)
    side = pb.BankSideVariants()
    first, crop1 = _publish(store, "CROPS", rng)
    with store.session() as s:
        side.refresh(s)
    second, crop2 = _publish(store, "CROPS", rng)
    with store.session() as s:  # `second` committed between the refresh's two reads
        side.refresh(_ReadTooEarly(s, stale=side._last))  # type: ignore[arg-type]
    for _ in range(2):  # later refreshes keep working
        assert _found(store, side, crop2) == [(second, "crop:1x1", 0)]
        assert _found(store, side, crop1) == [(first, "crop:1x1", 0)]
