"""A notice in the forms hosts take: an email (.eml), a PDF, plain text, and web-form field values.

A notice quotes what pages said (URLs) and what a host's page or registry gave as its contact, so
every form of it is neutralised here: control and bidi-override characters become visible escapes
(`\x1b`, `\u202e`), a header value never carries CR or LF (a "Bcc:" cannot be smuggled in), and an
address holding such characters is refused rather than repaired.
"""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from unleak.errors import UnleakError
from unleak.takedown.bases import contact_email
from unleak.takedown.content import form_fields
from unleak.text import clip, neutralize, one_line, unsafe_characters


def _address(value: str, what: str) -> str:
    """An address for a header, refused when it holds a line break or another unsafe character."""
    bad = unsafe_characters(value)
    if bad:
        raise UnleakError(
            f"the {what} address {clip(one_line(value), 120)!r} holds control or line-break characters "
            f"({', '.join(bad)}); not used",
            hint="give the address by hand: `unleak notice edit ID --set recipient=ADDRESS`",
        )
    return value.strip()


def build_email(
    *,
    subject: str,
    body: str,
    to: str,
    claimant: dict,
    from_addr: str = "",
    notice_id: int | None = None,
    when: datetime | None = None,
    pdf: bytes | None = None,
    msgid_domain: str | None = None,
    references: str | None = None,
) -> EmailMessage:
    """The notice as an email. `From` is the sending account; replies go to the claimant's contact
    for notices (else their own address). No header names the case or the tool: the Message-ID is
    random and `notice_id` only names the attached PDF."""
    msg = EmailMessage()
    reply_to = contact_email(claimant)
    sender = _address(from_addr or reply_to, "sender")
    name = one_line(claimant.get("name", ""))
    msg["From"] = formataddr((name, sender))
    if reply_to and reply_to.lower() != sender.lower():
        msg["Reply-To"] = formataddr((name, _address(reply_to, "claimant's")))
    msg["To"] = _address(to, "recipient")
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime((when or datetime.now(UTC)).astimezone(UTC))
    domain = msgid_domain or (sender.rsplit("@", 1)[1] if "@" in sender else None)
    msg["Message-ID"] = make_msgid(idstring=secrets.token_hex(8), domain=domain or "localhost")
    if references:
        msg["References"] = one_line(references)
        msg["In-Reply-To"] = one_line(references)
    msg.set_content(neutralize(body, one_line=False), subtype="plain", charset="utf-8", cte="quoted-printable")
    if pdf:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"notice-{notice_id or 'draft'}.pdf")
    return msg


def render_pdf(subject: str, body: str) -> bytes:
    """The notice text as a PDF, one paragraph per block, URLs kept whole."""
    from xml.sax.saxutils import escape

    subject, body = one_line(subject), neutralize(body, one_line=False)

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=subject,
        author="",
        creator="",
        subject=subject,
        invariant=1,
    )
    styles = getSampleStyleSheet()
    story = [Paragraph(escape(subject), styles["Heading3"]), Spacer(1, 4 * mm)]
    for block in body.split("\n\n"):
        lines = [escape(line.strip()) for line in block.splitlines()]
        if not any(lines):
            continue
        # Keep numbered URL lists one per line; join wrapped prose back together.
        is_list = any(line[:3].strip().rstrip(".").isdigit() for line in lines[1:]) or (
            len(lines) > 1 and all(len(line) < 60 for line in lines[1:])
        )
        html = "<br/>".join(lines) if is_list else " ".join(lines)
        story.append(Paragraph(html, styles["BodyText"]))
        story.append(Spacer(1, 2 * mm))
    doc.build(story)
    return buf.getvalue()


def form_text(fields: dict, form_url: str) -> str:
    """What to paste where, for hosts that only take web forms."""
    lines = [f"Open the form: {one_line(form_url)}", "Fill in these fields (copy each value):", ""]
    for label, value in form_fields(fields):
        lines.append(f"== {one_line(label)} ==")
        lines.append(neutralize(value, one_line=False))
        lines.append("")
    lines.append("After submitting, record it: unleak notice send ID --submitted")
    return "\n".join(lines)


def write_outputs(
    out_dir: Path, stem: str, *, subject: str, body: str, eml: bytes | None, pdf: bytes | None, form: str | None
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    text = f"Subject: {one_line(subject)}\n\n{neutralize(body, one_line=False)}"
    (out_dir / f"{stem}.txt").write_text(text, "utf-8")
    written.append(out_dir / f"{stem}.txt")
    if eml is not None:
        (out_dir / f"{stem}.eml").write_bytes(eml)
        written.append(out_dir / f"{stem}.eml")
    if pdf is not None:
        (out_dir / f"{stem}.pdf").write_bytes(pdf)
        written.append(out_dir / f"{stem}.pdf")
    if form is not None:
        (out_dir / f"{stem}.form.txt").write_text(form, "utf-8")
        written.append(out_dir / f"{stem}.form.txt")
    return written
