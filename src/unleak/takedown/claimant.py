"""The claimant: who signs a case's notices, and in what capacity (depicted person, authorised
representative, copyright owner, agent). Stored with the case; every change is logged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unleak.errors import UnleakError
from unleak.store import Store
from unleak.store.models import Claimant
from unleak.takedown.bases import ROLES, Role, signature_names_signer
from unleak.takedown.notices import _case, _log
from unleak.text import check_name

CLAIMANT_FIELDS = (
    "name",
    "email",
    "postal_address",
    "phone",
    "roles",
    "on_behalf_of",
    "signature",
    "notice_contact",
    "country",
)
# Which fields each kind of notice needs, and why: what `claimant set` says when it asks.
FIELD_NEEDS = {
    "name": "every notice: who signs it",
    "email": "every notice: where the host replies (DSA Art. 16(2)(c) asks for name and email)",
    "roles": "every notice: in what capacity you act (depicted_person, authorised_representative, "
    "copyright_owner, agent)",
    "on_behalf_of": "only for an agent of a copyright owner (DMCA): whom you act for",
    "postal_address": "only DMCA notices (17 U.S.C. §512(c)(3)(A)(iv)); they reach the uploader and Lumen",
    "phone": "only DMCA notices, as an alternative to the postal address",
    "notice_contact": "recommended: a contact for notices (an agent, a lawyer, a helpline, a fresh email) "
    "given instead of your own address",
    "country": "search delisting forms ask for your country",
    "signature": "the typed signature; it must contain your name (default /Name/)",
}


def parse_roles(roles: Iterable[str] | str | None) -> list[Role]:
    """Roles from a comma-separated text or a list, in the spelling people type (owner, depicted,
    authorized-representative, ...). Unknown roles are refused; repeats dropped."""
    if roles is None:
        return []
    items = roles.split(",") if isinstance(roles, str) else list(roles)
    out: list[Role] = []
    for r in items:
        r = r.strip().lower().replace("-", "_").replace(" ", "_")
        r = _ROLE_ALIASES.get(r, r)
        if not r:
            continue
        if r not in ROLES:
            raise UnleakError(f"unknown role {r!r}", hint="roles: " + ", ".join(ROLES))
        if r not in out:
            out.append(Role(r))
    return out


_ROLE_ALIASES = {
    "authorized_representative": "authorised_representative",
    "representative": "authorised_representative",
    "owner": "copyright_owner",
    "depicted": "depicted_person",
    "subject": "depicted_person",
}


@dataclass(frozen=True)
class ClaimantRecord:
    """Who signs a case's notices. Empty strings where nothing was given."""

    name: str = ""
    email: str = ""
    postal_address: str = ""
    phone: str = ""
    roles: tuple[Role, ...] = ()
    on_behalf_of: str = ""
    signature: str = ""
    notice_contact: str = ""
    country: str = ""

    @classmethod
    def of(cls, c: Claimant | None) -> ClaimantRecord:
        if c is None:
            return cls()
        return cls(
            c.name or "",
            c.email or "",
            c.postal_address or "",
            c.phone or "",
            tuple(parse_roles(c.roles)),
            c.on_behalf_of or "",
            c.signature or "",
            c.notice_contact or "",
            c.country or "",
        )

    def to_json(self) -> dict[str, Any]:
        """The `claimant show --json` record, and the claimant as a notice's fields hold it."""
        out = dataclasses.asdict(self)
        out["roles"] = list(self.roles)
        return out


def claimant_dict(c: Claimant | None) -> dict[str, Any]:
    return ClaimantRecord.of(c).to_json()


def get_claimant(store: Store, case: str | None = None) -> ClaimantRecord | None:
    with store.session() as s:
        case_row = _case(store, s, case)
        c = s.scalar(select(Claimant).where(Claimant.case_id == case_row.id))
        return ClaimantRecord.of(c) if c else None


_CLAIMANT_MAX = {  # the columns
    "name": 300,
    "email": 320,
    "phone": 60,
    "on_behalf_of": 300,
    "signature": 300,
    "country": 60,
}


def set_claimant(store: Store, case: str | None = None, **changes: Any) -> ClaimantRecord:
    """Create or update the case's claimant. Only the fields given change. The typed signature
    defaults to "/Name/" (an electronic signature) and follows the name: a default signature changes
    with it; a name change that leaves a signature not naming the new signer is refused. A claimant
    without a name is never saved."""
    unknown = set(changes) - set(CLAIMANT_FIELDS)
    if unknown:
        raise UnleakError(f"unknown claimant field(s): {', '.join(sorted(unknown))}")
    with store.session() as s:
        case_row = store.case(s, case)  # an unknown name is NotFound: claimant set does not open a case
        c = s.scalar(select(Claimant).where(Claimant.case_id == case_row.id))
        if c is None:
            c = Claimant(case_id=case_row.id)
            s.add(c)
        old_name, old_signature = c.name or "", c.signature or ""
        for key, value in changes.items():
            if value is None:
                continue
            if key == "roles":
                value = ",".join(parse_roles(value))
            elif key == "country" and str(value).strip():
                from unleak.takedown.countries import lookup

                value = lookup(str(value))  # any ISO 3166-1 name or code -> its alpha-2 code
            elif str(value).strip():  # a name, address or signature goes into notices as given
                value = check_name(str(value), key.replace("_", " "), max_length=_CLAIMANT_MAX.get(key, 2000))
            setattr(c, key, str(value).strip())
        if not (c.name or "").strip():
            raise UnleakError(
                "a claimant needs at least a name: nothing was saved",
                hint="run `unleak claimant set --name ... --email ... --role depicted_person` "
                "(in a terminal, `unleak claimant set` asks for each field)",
            )
        if changes.get("signature") is None and c.name != old_name and old_signature:
            if old_signature == f"/{old_name}/":
                c.signature = f"/{c.name}/"  # the default signature follows the name
            elif not signature_names_signer(old_signature, c.name):
                raise UnleakError(
                    f"the signature {old_signature!r} does not name {c.name!r}: nothing was saved",
                    hint="give the new signature too: `unleak claimant set --name ... --signature '/Full Name/'`",
                )
        if not c.signature and c.name:
            c.signature = f"/{c.name}/"
        s.flush()
        _log(s, case_row.id, "claimant.set", {"fields": sorted(k for k, v in changes.items() if v is not None)})
        return ClaimantRecord.of(c)


def require_claimant(s: Session, case_id: int) -> Claimant:
    """The case's claimant; refuses to go on without one (a notice needs a signer)."""
    c = s.scalar(select(Claimant).where(Claimant.case_id == case_id))
    if c is None or not c.name:
        raise UnleakError(
            "this case has no claimant: who signs the notices, and in what capacity",
            hint="run `unleak claimant set --name ... --email ... --role depicted_person` "
            "(roles: " + ", ".join(ROLES) + ")",
        )
    return c
