"""Confirming notices: the one rule for every door (the CLI, the web app, scripts).

A notice is sent in the person's name and may be sworn (a DMCA notice is, under penalty of
perjury), so confirming it takes more than a yes:

1. the full text was shown: the caller passes, for every notice, the SHA-256 of the text it
   showed (`NoticeView.content_sha256`); a notice whose text changed since is refused;
2. the person types their name as it appears in the notice's signature ("/Alex Doe/" -> "Alex
   Doe"; case and spacing aside); a signature that does not name the signer never validates;
3. confirming several notices at once (without reading each in turn) when a DMCA notice is among
   them needs `understand_512f=True`, after showing `WARNING_512F`: 17 U.S.C. §512(f) makes a
   person who knowingly materially misrepresents that material is infringing liable for damages.

Nothing is confirmed unless every notice passes (all or none). Typical use:

    req = confirmation_request(store, [3, 4])      # what to show: texts, the name to type, warnings
    ...show req.notices[i].body, and req.warning_512f when req.needs_512f...
    confirm_notices(store, {3: req.notices[0].content_sha256, 4: ...}, typed_name="Alex Doe",
                    understand_512f=True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import NoticeEvent
from unleak.takedown.bases import IncompleteNotice, _fold, get_basis, signature_name, signature_names_signer
from unleak.takedown.content import render_text
from unleak.takedown.notices import NoticeStatus, NoticeView, _log, _notice, _now

WARNING_512F = (
    "You are confirming several notices at once, and at least one is a DMCA notice. Under 17 U.S.C. §512(f), "
    "anyone who knowingly materially misrepresents that material is infringing is liable for the damages, "
    "including costs and attorneys' fees, that the alleged infringer or the service provider incur. Confirm "
    "only if you have read every one of these notices and each statement in it is true."
)
DMCA_BASES = frozenset({"dmca", "dmca-512d"})


class ConfirmationRefused(UnleakError):
    """The confirmation rule was not met: nothing was confirmed."""


@dataclass(frozen=True)
class ConfirmationRequest:
    """What a door must show before asking: every notice's full text (`notices[i].body`), the
    name to type (`signature_name`), and the §512(f) warning when `needs_512f`."""

    notices: tuple[NoticeView, ...]
    signature_name: str
    needs_512f: bool
    warning_512f: str = WARNING_512F

    def shown(self) -> dict[int, str]:
        """The `shown` argument of confirm_notices, once every text here was shown."""
        return {n.id: n.content_sha256 for n in self.notices}


def _signature_of(fields: dict) -> tuple[str, str]:
    c = fields.get("claimant") or {}
    return (fields.get("signature") or c.get("signature") or "").strip(), (c.get("name") or "").strip()


def needs_512f(bases: Iterable[str], count: int, *, bulk: bool | None = None) -> bool:
    """Whether confirming these needs the §512(f) acknowledgement: several at once (or `bulk`)
    with a DMCA notice among them."""
    many = count > 1 if bulk is None else bulk
    return many and any(b in DMCA_BASES for b in bases)


def confirmation_request(store: Store, notice_ids: Iterable[int], *, bulk: bool | None = None) -> ConfirmationRequest:
    """Read the notices to confirm, and what the person must be shown and type."""
    ids = list(dict.fromkeys(notice_ids))
    if not ids:
        raise UnleakError("no notice to confirm", hint="name the notice ids")
    with store.session() as s:
        views, names = [], set()
        for nid in ids:
            n = _notice(s, nid)
            views.append(NoticeView.of(n))
            sig, _name = _signature_of(n.fields or {})
            names.add(signature_name(sig))
    return ConfirmationRequest(
        tuple(views),
        " / ".join(sorted(x for x in names if x)),
        needs_512f((v.basis for v in views), len(views), bulk=bulk),
    )


def confirm_notices(
    store: Store,
    shown: Mapping[int, str],
    *,
    typed_name: str,
    understand_512f: bool = False,
    bulk: bool | None = None,
    now: datetime | None = None,
) -> list[NoticeView]:
    """Confirm notices by the one rule (see the module): all of them, or none.

    `shown` maps each notice id to the SHA-256 of the text that was shown to the person;
    `typed_name` is what they typed; `understand_512f` that they acknowledged the §512(f)
    warning (needed when several notices are confirmed at once and one is a DMCA notice;
    `bulk=True` marks a single notice confirmed without being asked about it by itself).
    Raises ConfirmationRefused (or IncompleteNotice) naming what is wrong.
    """
    now = _now(now)
    if not shown:
        raise ConfirmationRefused("no notice to confirm", hint="name the notice ids")
    typed = " ".join((typed_name or "").split())
    if not typed:
        raise ConfirmationRefused(
            "to confirm, type your name as it appears in the signature",
            hint="the signature is shown at the end of each notice",
        )
    with store.session() as s:
        notices = [_notice(s, nid) for nid in shown]
        if needs_512f((n.basis for n in notices), len(notices), bulk=bulk) and not understand_512f:
            raise ConfirmationRefused(
                WARNING_512F,
                hint="read each notice and confirm it on its own, or acknowledge with --i-understand-512f",
            )
        for n in notices:
            if n.status not in (NoticeStatus.DRAFT, NoticeStatus.CONFIRMED):
                raise ConfirmationRefused(f"notice #{n.id} is already {n.status}")
            if shown[n.id] != n.content_sha256:
                raise ConfirmationRefused(
                    f"notice #{n.id} is not the text you were shown (it changed since)",
                    hint=f"read it again with `unleak notice show {n.id}`",
                )
            from unleak.takedown.drafting import missing_for

            fields = n.fields or {}
            missing = missing_for(fields)
            if missing:
                raise IncompleteNotice(get_basis(n.basis), missing)
            if render_text(fields, check=True) != n.body:  # raises naming any missing element
                raise ConfirmationRefused(
                    f"notice #{n.id} changed since it was drafted", hint=f"review it again: `unleak notice show {n.id}`"
                )
            sig, name = _signature_of(fields)
            if not signature_names_signer(sig, name):
                raise ConfirmationRefused(
                    f"the signature of notice #{n.id} ({sig!r}) does not name the signer ({name!r})",
                    hint="set a signature that does: `unleak claimant set --signature '/Full Name/'`",
                )
            if _fold(typed) != _fold(signature_name(sig)):
                raise ConfirmationRefused(
                    f"the name typed does not match the signature of notice #{n.id} ({signature_name(sig)!r})",
                    hint="type your name exactly as it appears in the signature",
                )
        out = []
        for n in notices:
            n.status, n.confirmed_sha256, n.confirmed_at = NoticeStatus.CONFIRMED.value, n.content_sha256, now
            detail = {"sha256": n.content_sha256, "typed_name": typed, "with_512f_warning": bool(understand_512f)}
            s.add(NoticeEvent(notice_id=n.id, at=now, kind="confirmed", detail=detail))
            _log(
                s,
                n.case_id,
                "notice.confirm",
                {
                    "notice_id": n.id,
                    "content_sha256": n.content_sha256,
                    "basis": n.basis,
                    "host": n.host,
                    "typed_name": typed,
                    "acknowledged_512f": bool(understand_512f),
                },
            )
            s.flush()
            out.append(NoticeView.of(n))
        return out
