"""Decode images and video with limits on size and time; sniff types from content, not names."""

from unleak.media.sniff import MediaKind, sniff_bytes, sniff_file
from unleak.media.image import decode_image, image_to_array
from unleak.media.video import VideoInfo, probe_video, iter_frames

__all__ = [
    "MediaKind",
    "sniff_bytes",
    "sniff_file",
    "decode_image",
    "image_to_array",
    "VideoInfo",
    "probe_video",
    "iter_frames",
]
