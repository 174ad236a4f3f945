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


def _bank(store, name: str) -> None:
    with store.session() as s:
        pb.create_bank(s, name, None, None)


def test_a_change_seen_twice_adds_its_crop_once(store):
    """The first refresh reads the log position, then the rows: a publish committed in between is
    in both; later refreshes must not add it again (the index refuses a duplicate id)."""
    rng = random.Random(1)
    _bank(store, "CROPS")
    side = pb.BankSideVariants()
    first, crop1 = _publish(store, "CROPS", rng)
    assert _found(store, side, crop1) == [(first, "crop:1x1", 0)]
    side._seq = 0  # as if the position had been read before `first` committed
    second, crop2 = _publish(store, "CROPS", rng)
    for _ in range(2):
        assert _found(store, side, crop2) == [(second, "crop:1x1", 0)]
        assert _found(store, side, crop1) == [(first, "crop:1x1", 0)]
    assert side.counts(first) == (0, 1)


def test_crops_published_after_a_delete_or_reset_all_match_and_none_answers_for_gone_content(store):
    rng = random.Random(2)
    side = pb.BankSideVariants()
    _bank(store, "OLD")
    old = [_publish(store, "OLD", rng) for _ in range(3)]
    assert all(_found(store, side, crop) == [(cid, "crop:1x1", 0)] for cid, crop in old)
    with store.session() as s:
        pb.delete_bank(s, "OLD")
    _bank(store, "NEW")
    new = [_publish(store, "NEW", rng) for _ in range(4)]  # on SQLite, signal row ids are reused
    for cid, crop in new:
        assert _found(store, side, crop) == [(cid, "crop:1x1", 0)]
    for _cid, crop in old:
        assert _found(store, side, crop) == []
    # a factory reset: content ids start again at 1, so an old crop would name a new item
    with store.session() as s:
        pb.factory_reset(s)
    _bank(store, "AFTER")
    after = [_publish(store, "AFTER", rng) for _ in range(2)]
    assert after[0][0] == 1  # the scenario: ids did restart
    for cid, crop in after:
        assert _found(store, side, crop) == [(cid, "crop:1x1", 0)]
    for _cid, crop in old + new:
        assert _found(store, side, crop) == []


def test_publish_carries_only_the_variants_protect_computes(store, samples):
    """A bank imported from JSON may name any variant: only crops and trimmed borders are
    published (a long name would not fit the platform's signal type; others would skew rates)."""
    from sqlalchemy import select

    from unleak.bank import Bank
    from unleak.match.variants import BANK_BOXES, BANK_CROPS
    from unleak.store.models import BankSignal

    bank = Bank(store, "imported")
    assert all(r.error is None for r in bank.protect([samples[3]], variants=True))
    rng = random.Random(3)
    with store.session() as s:
        own = s.scalars(select(BankSignal).where(BankSignal.variant == "", BankSignal.type == "pdq")).one()
        for name in ("x" * 60, "someone-elses:rotation"):
            s.add(BankSignal(item_id=own.item_id, case_id=own.case_id, type="pdq", value=_hex(rng), variant=name))
    with store.session() as s:
        assert pb.publish_case(s, "imported", "PUBLISHED") == 1
    with store.session() as s:
        published = set(s.scalars(select(PlatformSignal.type).where(PlatformSignal.type.startswith("variant:"))))
    names = {t.removeprefix("variant:") for t in published}
    assert names and names <= set(BANK_CROPS) | set(BANK_BOXES), names
