"""The fast path for `GET /m/lookup` and `/m/raw_lookup` answers exactly as the FastAPI routes do:
same status, headers and bytes, for matches, misses and every kind of refusal."""

from __future__ import annotations

import pytest

from test_serve_auth import _add_key, _auth, serving
from unleak.serve import fast

PDQ = "f" * 32 + "0" * 32
NEAR = format(int(PDQ, 16) ^ 0b1011, "064x")  # 3 bits away
OTHER = "0123456789abcdef" * 4
COIN = "a" * 64  # only in FAST_C, which matches on half the coin flips


def _queries(matcher: str, curator: str, scoped: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    lookup = "/m/lookup"
    return [
        (lookup, {"signal_type": "pdq", "signal": PDQ}, _auth(matcher)),  # match, two banks
        (lookup, {"signal_type": "pdq", "signal": NEAR}, _auth(matcher)),  # near match
        (lookup, {"signal_type": "pdq", "signal": OTHER}, _auth(matcher)),  # no match
        (lookup, {"signal_type": "pdq", "signal": PDQ, "banks": "FAST_A"}, _auth(matcher)),
        (lookup, {"signal_type": "pdq", "signal": PDQ, "banks": "NO_SUCH_BANK"}, _auth(matcher)),  # unknown bank
        (lookup, {"signal_type": "pdq", "signal": COIN, "seed": "7"}, _auth(matcher)),  # coin flip: no
        (lookup, {"signal_type": "pdq", "signal": COIN, "seed": "1"}, _auth(matcher)),  # coin flip: yes
        (lookup, {"signal_type": "pdq", "signal": PDQ.upper()}, _auth(matcher)),  # bad hash: 400
        (lookup, {"signal_type": "pdq", "signal": "zz"}, _auth(matcher)),
        (lookup, {"signal_type": "nope", "signal": PDQ}, _auth(matcher)),  # unknown signal type
        (lookup, {"signal_type": "pdq"}, _auth(matcher)),  # no signal
        (lookup, {"signal_type": "pdq", "signal": PDQ}, {}),  # no key: 401
        (lookup, {"signal_type": "pdq", "signal": PDQ}, _auth("unleak_bogus")),  # bad key: 401
        (lookup, {"signal_type": "pdq", "signal": PDQ}, _auth(curator)),  # wrong role: 403
        (lookup, {"signal_type": "pdq", "signal": PDQ}, _auth(scoped)),  # key limited to FAST_B
        ("/m/raw_lookup", {"signal_type": "pdq", "signal": PDQ}, _auth(matcher)),
        ("/m/raw_lookup", {"signal_type": "pdq", "signal": NEAR, "include_distance": "true"}, _auth(matcher)),
        ("/m/raw_lookup", {"signal_type": "pdq", "signal": PDQ, "banks": "FAST_B"}, _auth(matcher)),
        ("/m/raw_lookup", {"signal_type": "pdq", "signal": OTHER}, _auth(matcher)),
        ("/m/raw_lookup", {"signal_type": "pdq", "signal": "zz"}, _auth(matcher)),
        ("/m/raw_lookup", {"signal_type": "pdq", "signal": PDQ}, _auth(curator)),
    ]


def _answers(http, queries) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    out = []
    for path, params, headers in queries:
        r = http.get(path, params=params, headers=headers)
        kept = sorted((k, v) for k, v in r.headers.items() if k not in ("date",))
        out.append((r.status_code, kept, r.content))
    return out


def test_fast_path_answers_byte_for_byte_as_the_route(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'fast.db'}"
    matcher, curator = _add_key(db, "m", "matcher"), _add_key(db, "c", "curator")
    with serving(db) as http:
        for name, ratio, pdq in (("FAST_A", 1.0, PDQ), ("FAST_B", 1.0, PDQ), ("FAST_C", 0.5, COIN)):
            r = http.post("/c/banks", json={"name": name, "enabled_ratio": ratio}, headers=_auth(curator))
            assert r.status_code == 201
            r = http.post(f"/c/bank/{name}/signal", json={"pdq": pdq}, headers=_auth(curator))
            assert r.status_code == 200
        scoped = _add_key(db, "scoped", "matcher", bank="FAST_B")
        queries = _queries(matcher, curator, scoped)
        _answers(http, queries)  # once: the server reads the matched rows and learns the keys

        answered = []
        real = fast.FastLookup._answer

        def spy(self, path, scope):
            body = real(self, path, scope)
            answered.append(body is not None)
            return body

        monkeypatch.setattr(fast.FastLookup, "_answer", spy)
        quick = _answers(http, queries)
        monkeypatch.setattr(fast.FastLookup, "_answer", lambda self, path, scope: None)
        slow = _answers(http, queries)
        metrics = http.get("/metrics", headers=_auth(matcher)).text

    for query, a, b in zip(queries, quick, slow):
        assert a == b, query
    statuses = [a[0] for a in quick]
    assert statuses == [200] * 7 + [400] * 4 + [401, 401, 403, 200] + [200] * 4 + [400, 403]
    assert quick[0][2] == (
        b'{"FAST_A":[{"bank_content_id":1,"distance":"0"}],"FAST_B":[{"bank_content_id":2,"distance":"0"}]}'
    )
    assert (quick[5][2], quick[6][2]) == (b"{}", b'{"FAST_C":[{"bank_content_id":3,"distance":"0"}]}')
    assert quick[14][2] == b'{"FAST_B":[{"bank_content_id":2,"distance":"0"}]}'  # the key's one bank
    assert quick[16][2] == b'{"matches":[{"bank_content_id":1,"distance":"3"},{"bank_content_id":2,"distance":"3"}]}'
    # The fast path itself answered every 200 of a lookup by hash (refusals never reach it).
    assert answered.count(True) == statuses.count(200)
    # Counted under the route's template either way: 8 lookups answered 200 in each of three rounds.
    assert 'unleak_serve_requests_total{method="GET",route="/m/lookup",status="200"} 24.0' in metrics
    assert 'unleak_serve_lookups_total{matched="true",signal_type="pdq"}' in metrics


@pytest.mark.parametrize("query", ["url=http%3A%2F%2Fexample.invalid%2Fx.jpg", "explain=true", "signal=a&signal=b"])
def test_unusual_queries_go_to_the_route(query):
    """What the fast path does not understand it leaves to FastAPI."""
    from unleak import platform_banks as pb

    class Current:
        def current(self) -> bool:
            return True

    layer = fast.FastLookup(None, matcher=Current(), on_lookup=lambda *a: None, routes=None)  # type: ignore[arg-type]
    scope = {"query_string": f"signal_type=pdq&signal={PDQ}&{query}".encode(), "state": {}}
    assert pb.SIGNAL_TYPES["pdq"]
    assert layer._answer("/m/lookup", scope) is None
