"""A minor's case (`Case.minor`) and hash-based blocking: where to go first, and what never to do.

For a child's images the first stops are NCMEC's Take It Down (hashes made on the device; the
images never leave it) and the Internet Watch Foundation; a DMCA notice is never drafted (it is
forwarded to the uploader and published in Lumen, and it would claim copyright in a child's
image). Adults can have hashes of their intimate images shared with participating platforms
through StopNCII. The addresses below are the services' public pages as unleak's authors know
them; they could not be re-checked from here.
"""

from __future__ import annotations

from unleak.takedown.bases import BasisId, NotEntitled

TAKE_IT_DOWN_NCMEC = "https://takeitdown.ncmec.org/"
IWF_REPORT = "https://report.iwf.org.uk/"
STOPNCII = "https://stopncii.org/"

MINOR_FIRST = (
    "This is a minor's case. First: report the images to NCMEC's Take It Down ("
    + TAKE_IT_DOWN_NCMEC
    + "), which makes hashes on your own device so the images never leave it and shares them with "
    "participating platforms, and to the Internet Watch Foundation ("
    + IWF_REPORT
    + "), which has the images removed and blocked. unleak keeps no media bytes for this case (hashes, "
    "URLs and page text only) and never drafts a DMCA notice for it. Never send or upload the images "
    "yourself, not even to report them."
)
STOPNCII_GUIDANCE = (
    "StopNCII ("
    + STOPNCII
    + ") is for adults (18 or over when the images were taken): it makes hashes of your images on your "
    "device and shares only the hashes with participating platforms, which then block matching uploads. "
    "The images never leave your device; a hash cannot be turned back into the image. For images taken "
    "under 18, use NCMEC's Take It Down instead."
)
_DMCA = {BasisId.DMCA, BasisId.DMCA_SEARCH}


def refuse_dmca_for_minor(bases: list[BasisId] | None) -> None:
    """A minor's case never drafts a DMCA notice."""
    if bases and _DMCA & set(bases):
        raise NotEntitled(
            "this is a minor's case: unleak never drafts a DMCA notice for it (the notice is forwarded "
            "to the uploader and published, and a child's image is no copyright matter)",
            hint="report to NCMEC's Take It Down and the IWF first; then use --basis take-it-down, dsa, uk-osa "
            "or ncii-policy",
        )
