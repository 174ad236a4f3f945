"""Decode images and video with limits on size and time; sniff types from content, not names."""

from unleak.media.image import decode_image, image_to_array
from unleak.media.sniff import MediaKind, sniff_bytes, sniff_file
from unleak.media.video import VideoInfo, iter_frames, probe_video

__all__ = [
    "MediaKind",
    "VideoInfo",
    "decode_image",
    "image_to_array",
    "iter_frames",
    "probe_video",
    "sniff_bytes",
    "sniff_file",
]
