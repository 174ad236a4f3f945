"""Registering one image onto another: used alike by owner-side match verification and by the
watermark tracer, neither of which depends on the other."""

from unleak.registration.align import (
    Alignment,
    AlignmentCheck,
    align,
    check_alignment,
    content_box,
    to_gray,
    warp_original_to_candidate,
    warp_to_original,
)

__all__ = [
    "Alignment",
    "AlignmentCheck",
    "align",
    "check_alignment",
    "content_box",
    "to_gray",
    "warp_original_to_candidate",
    "warp_to_original",
]
