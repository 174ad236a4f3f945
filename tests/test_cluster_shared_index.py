"""The bank's PDQ index published once in a shared folder and memory-mapped (UNLEAK_SHARED_INDEX):
the same matches as an index built from the database, one folder per bank state, never open to
everyone."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from PIL import Image

from unleak.bank import Bank
from unleak.errors import ConfigError
from unleak.match import Matcher
from unleak.match.shared_index import shared_matcher
from unleak.store import open_store


def _json(results) -> list[dict]:
    return [r.to_json() for r in results]


def test_shared_index_matches_like_a_built_one_and_follows_the_bank(tmp_path, samples):
    store = open_store(f"sqlite:///{tmp_path / 'unleak.db'}")
    bank = Bank(store, "c", create=True)
    bank.protect(samples[:4])
    copy = tmp_path / "copy.jpg"
    Image.open(samples[1]).convert("RGB").resize((300, 200)).save(copy, quality=70)
    later = tmp_path / "later.jpg"
    Image.open(samples[5]).convert("RGB").save(later, quality=90)
    queries = [str(copy), str(later), str(samples[8])]
    folder = tmp_path / "shared"

    built = Matcher(bank, verify="off")
    mapped = shared_matcher(bank, folder, verify="off")
    assert _json(mapped.match_paths(queries)) == _json(built.match_paths(queries))
    assert any(r.matches for r in mapped.match_paths([str(copy)]))
    assert isinstance(mapped.pdq.hashes, np.memmap)
    (published,) = folder.iterdir()
    assert stat.S_IMODE(os.stat(published).st_mode) & 0o007 == 0
    assert all(stat.S_IMODE(os.stat(f).st_mode) == 0o640 for f in published.iterdir())

    again = shared_matcher(bank, folder, verify="off")  # another worker: the same files, not a new build
    assert list(folder.iterdir()) == [published]
    assert _json(again.match_paths(queries)) == _json(built.match_paths(queries))

    bank.protect([samples[5]])  # the bank changed: a new state, a new folder, the new item found
    fresh = shared_matcher(bank, folder, verify="off")
    assert len(list(folder.iterdir())) == 2
    assert next(iter(fresh.match_paths([str(later)]))).matches
    assert _json(fresh.match_paths(queries)) == _json(Matcher(bank, verify="off").match_paths(queries))
    store.close()


def test_a_shared_folder_open_to_everyone_is_refused(tmp_path, samples):
    store = open_store(f"sqlite:///{tmp_path / 'unleak.db'}")
    bank = Bank(store, "c", create=True)
    bank.protect(samples[:1])
    folder = tmp_path / "open"
    folder.mkdir()
    os.chmod(folder, 0o755)
    with pytest.raises(ConfigError, match="open to everyone"):
        shared_matcher(bank, folder, verify="off")
    store.close()


def test_two_databases_sharing_one_folder_each_match_only_their_own_photos(tmp_path, samples):
    # Two databases each with a case "c" (id 1) of one photo: the same Bank.fingerprint().
    folder = tmp_path / "shared"
    stores, banks = [], []
    for name, photo in (("staging", samples[2]), ("prod", samples[6])):
        store = open_store(f"sqlite:///{tmp_path / name}.db")
        bank = Bank(store, "c", create=True)
        bank.protect([photo])
        stores.append(store)
        banks.append(bank)
    assert banks[0].fingerprint() == banks[1].fingerprint()
    for bank, own, other in ((banks[0], samples[2], samples[6]), (banks[1], samples[6], samples[2])):
        matcher = shared_matcher(bank, folder, verify="off")
        assert next(iter(matcher.match_paths([str(own)]))).matches
        assert not next(iter(matcher.match_paths([str(other)]))).matches
    assert len(list(folder.iterdir())) == 2
    for store in stores:
        store.close()


def test_no_bank_variants_is_honoured_by_the_shared_index(tmp_path, samples):
    # `match --cluster --no-bank-variants` passes bank_variants=False: the bank's derived crop
    # hashes must not be searched, as with a Matcher built from the database.
    store = open_store(f"sqlite:///{tmp_path / 'unleak.db'}")
    bank = Bank(store, "c", create=True)
    bank.protect(samples[:2], variants=True)  # with the bank-side crops (`protect`'s default)
    crop = tmp_path / "crop.jpg"
    img = Image.open(samples[0]).convert("RGB")
    img.crop((0, 0, img.width * 6 // 10, img.height * 6 // 10)).save(crop, quality=90)
    queries = [str(crop), str(samples[1])]
    plain = Matcher(bank, verify="off", bank_variants=False)
    shared = shared_matcher(bank, tmp_path / "shared", verify="off", bank_variants=False)
    assert len(shared.pdq.items) == len(plain.pdq.items) < len(Matcher(bank, verify="off").pdq.items)
    assert _json(shared.match_paths(queries)) == _json(plain.match_paths(queries))
    store.close()


def test_a_damaged_shared_index_is_not_used_the_worker_builds_its_own(tmp_path, samples, caplog):
    store = open_store(f"sqlite:///{tmp_path / 'unleak.db'}")
    bank = Bank(store, "c", create=True)
    bank.protect(samples[:3])
    folder = tmp_path / "shared"
    shared_matcher(bank, folder, verify="off")
    (published,) = folder.iterdir()
    items = np.load(published / "items.npy")
    os.chmod(published / "items.npy", 0o600)
    np.save(published / "items.npy", items[:-1])  # one row short: e.g. a copy cut short
    queries = [str(samples[0]), str(samples[2]), str(samples[7])]
    matcher = shared_matcher(bank, folder, verify="off")
    assert not isinstance(matcher.pdq.hashes, np.memmap)  # built here, from the database
    assert _json(matcher.match_paths(queries)) == _json(Matcher(bank, verify="off").match_paths(queries))
    assert "not usable" in caplog.text
    store.close()
