"""A notice in the forms hosts take: an email (.eml), a PDF, plain text, and web-form field values."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from unleak.takedown.content import form_fields


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
    """The notice as an email. `From` is the sending account; replies go to the claimant."""
    msg = EmailMessage()
    sender = from_addr or claimant.get("email", "")
    msg["From"] = formataddr((claimant.get("name", ""), sender))
    if claimant.get("email") and claimant["email"].lower() != sender.lower():
        msg["Reply-To"] = formataddr((claimant.get("name", ""), claimant["email"]))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime((when or datetime.now(UTC)).astimezone(UTC))
    domain = msgid_domain or (sender.rsplit("@", 1)[1] if "@" in sender else None)
    msg["Message-ID"] = make_msgid(idstring=f"notice{notice_id}" if notice_id else "unleak", domain=domain)
    if references:
        msg["References"] = references
        msg["In-Reply-To"] = references
    if notice_id is not None:
        msg["X-Unleak-Notice"] = str(notice_id)
    msg.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if pdf:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"notice-{notice_id or 'draft'}.pdf")
    return msg


def render_pdf(subject: str, body: str) -> bytes:
    """The notice text as a PDF, one paragraph per block, URLs kept whole."""
    from xml.sax.saxutils import escape

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
        author="unleak",
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
    lines = [f"Open the form: {form_url}", "Fill in these fields (copy each value):", ""]
    for label, value in form_fields(fields):
        lines.append(f"== {label} ==")
        lines.append(value)
        lines.append("")
    lines.append("After submitting, record it: unleak notice send ID --submitted")
    return "\n".join(lines)


def write_outputs(
    out_dir: Path, stem: str, *, subject: str, body: str, eml: bytes | None, pdf: bytes | None, form: str | None
) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    (out_dir / f"{stem}.txt").write_text(f"Subject: {subject}\n\n{body}", "utf-8")
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
