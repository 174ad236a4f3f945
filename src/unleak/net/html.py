"""What a page links to: media (img, srcset, og:image, video/source, poster, links to media files),
other pages, and the uploader's handle and post time where the page shows them.

A post time is kept as one only when it parses as a date and time (ISO 8601 or RFC 2822, as
pages and feeds write them); what the page said is kept beside it as `posted_raw`, so a
`<time datetime>` holding a line break and a mail header is evidence, never a time.

Hostile pages are bounded, not trusted: non-http(s) URLs (javascript:, data:, ...) are skipped
and counted, lists are capped with a note saying so, and a page nested too deeply for a DOM
parser (the parser's time grows with depth squared) is read by a tag scanner instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from unleak.text import unsafe_characters

MEDIA_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".avif",
    ".mp4",
    ".m4v",
    ".mov",
    ".webm",
    ".mkv",
    ".avi",
)
MAX_URL_LENGTH = 4096
MAX_DEPTH_FOR_DOM = 3000
_TAG = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)")
_VOID = {
    b"area",
    b"base",
    b"br",
    b"col",
    b"embed",
    b"hr",
    b"img",
    b"input",
    b"link",
    b"meta",
    b"source",
    b"track",
    b"wbr",
    b"param",
    b"keygen",
}
_ATTR = re.compile(
    rb"""\b(src|href|srcset|content|poster|data-src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE
)


@dataclass
class MediaRef:
    url: str
    via: str  # img | srcset | og:image | video | source | poster | link


@dataclass
class PageInfo:
    links: list[str] = field(default_factory=list)
    media: list[MediaRef] = field(default_factory=list)
    uploader: str | None = None
    posted_at: str | None = None  # as the page writes it, and only when it parses as a time
    posted_raw: str | None = None  # the page's post-time text, whatever it holds (clipped)
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    skipped_urls: int = 0


# RFC 2822 as feeds write it ("Sun, 01 Feb 2026 09:00:00 GMT"); the email parser alone would
# take a valid prefix and ignore whatever follows it.
_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+(?:[+-]\d{4}|[A-Za-z]{1,5}))?"
)
MAX_POST_TIME = 64


def post_time(text: str | None) -> str | None:
    """`text`, stripped, when it is a date or a date and time (ISO 8601 or RFC 2822); else None."""
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > MAX_POST_TIME or unsafe_characters(text):
        return None
    try:
        datetime.fromisoformat(text)
        return text
    except ValueError:
        pass
    if _RFC2822.fullmatch(text):
        try:
            parsedate_to_datetime(text)
            return text
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return None


def looks_like_media_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(MEDIA_EXTENSIONS)


class _Collector:
    def __init__(self, base: str, max_links: int, max_media: int) -> None:
        self.base = base
        self.info = PageInfo()
        self.max_links, self.max_media = max_links, max_media
        self._links: dict[str, None] = {}
        self._media: dict[str, MediaRef] = {}
        self.dropped_links = self.dropped_media = 0
        self.schemes: dict[str, int] = {}

    def absolute(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            return None
        if len(raw) > MAX_URL_LENGTH:
            self.info.skipped_urls += 1
            self.schemes["over-long"] = self.schemes.get("over-long", 0) + 1
            return None
        scheme = raw.split(":", 1)[0].lower() if ":" in raw.split("/", 1)[0] else ""
        if scheme and scheme not in ("http", "https"):
            self.info.skipped_urls += 1
            self.schemes[scheme] = self.schemes.get(scheme, 0) + 1
            return None
        try:
            url = urldefrag(urljoin(self.base, raw)).url
            parts = urlsplit(url)
            _ = parts.port  # raises on a bad port
        except ValueError:
            self.info.skipped_urls += 1
            self.schemes["malformed"] = self.schemes.get("malformed", 0) + 1
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.info.skipped_urls += 1
            return None
        return url

    def link(self, raw: str | None) -> None:
        url = self.absolute(raw)
        if url is None:
            return
        if looks_like_media_url(url):
            self.media(url, "link", raw_is_absolute=True)
        elif url not in self._links:
            if len(self._links) >= self.max_links:
                self.dropped_links += 1
            else:
                self._links[url] = None

    def media(self, raw: str | None, via: str, raw_is_absolute: bool = False) -> None:
        url = raw if raw_is_absolute else self.absolute(raw)
        if url is None or url in self._media:
            return
        if len(self._media) >= self.max_media:
            self.dropped_media += 1
            return
        self._media[url] = MediaRef(url, via)

    def srcset(self, value: str | None) -> None:
        if not value:
            return
        if len(value) > 64 * 1024:
            self.info.notes.append(f"a srcset of {len(value):,} characters was cut to its first 64 KiB")
            value = value[: 64 * 1024]
        candidates = [c.strip().split()[0] for c in re.split(r",\s+|,(?=\S+\s+\d)", value) if c.strip()]
        if len(candidates) > 32:
            self.info.notes.append(f"a srcset lists {len(candidates)} candidates; the first 32 were taken")
        for c in candidates[:32]:
            self.media(c, "srcset")

    def finish(self) -> PageInfo:
        info = self.info
        info.links = list(self._links)
        info.media = list(self._media.values())
        if self.dropped_links:
            info.notes.append(
                f"{self.dropped_links:,} more links than the limit of {self.max_links:,} were not followed"
            )
        if self.dropped_media:
            info.notes.append(
                f"{self.dropped_media:,} more media than the limit of {self.max_media:,} were not fetched"
            )
        if self.schemes:
            info.notes.append("skipped URLs: " + ", ".join(f"{n} {k}" for k, n in sorted(self.schemes.items())))
        return info


def nesting_depth(body: bytes, stop_at: int = MAX_DEPTH_FOR_DOM) -> int:
    """An estimate of how deeply tags nest (opens minus closes, void elements aside)."""
    depth = deepest = 0
    for m in _TAG.finditer(body):
        if m.group(2).lower() in _VOID:
            continue
        depth += -1 if m.group(1) else 1
        depth = max(depth, 0)
        if depth > deepest:
            deepest = depth
            if deepest > stop_at:
                break
    return deepest


def parse_page(body: bytes, base_url: str, *, max_links: int = 5000, max_media: int = 2000) -> PageInfo:
    """Links, media and post details of an HTML page."""
    col = _Collector(base_url, max_links, max_media)
    if nesting_depth(body) > MAX_DEPTH_FOR_DOM:
        col.info.notes.append(f"tags nest more than {MAX_DEPTH_FOR_DOM} deep; links were read by scanning tags")
        return _scan_tags(body, col)
    tree = LexborHTMLParser(body)
    base = tree.css_first("base[href]")
    if base is not None:
        new_base = col.absolute(base.attributes.get("href"))
        if new_base:
            col.base = new_base
    title = tree.css_first("title")
    col.info.title = _clip(_text(title)) if title is not None else None
    for node in tree.css("meta[property], meta[name]"):
        key = (node.attributes.get("property") or node.attributes.get("name") or "").lower()
        if key in (
            "og:image",
            "og:image:url",
            "og:image:secure_url",
            "twitter:image",
            "og:video",
            "og:video:url",
            "og:video:secure_url",
        ):
            col.media(node.attributes.get("content"), "og:image" if "image" in key else "og:video")
    for node in tree.css("img, picture source, video, video source, audio source"):
        tag = node.tag
        attrs = node.attributes
        via = "img" if tag == "img" else ("video" if tag == "video" else "source")
        col.media(attrs.get("src"), via)
        if attrs.get("data-src"):
            col.media(attrs.get("data-src"), via)
        col.srcset(attrs.get("srcset"))
        if tag == "video" and attrs.get("poster"):
            col.media(attrs.get("poster"), "poster")
    for node in tree.css("a[href]"):
        col.link(node.attributes.get("href"))
    ld = _json_ld(tree)
    col.info.uploader = _uploader(tree, ld)
    col.info.posted_at, col.info.posted_raw = _posted_at(tree, ld)
    return col.finish()


def _clip(text: str | None, n: int = 200) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text[:n] or None


def _text(node) -> str:
    """A node's visible text, words separated (strip=True alone would glue "<b>Jane</b> Doe" together)."""
    return node.text(separator=" ", strip=True)


def _json_ld(tree: LexborHTMLParser) -> list[dict]:
    """The objects of the page's JSON-LD blocks (schema.org), @graph members included; bad JSON is skipped."""
    objects: list[dict] = []
    for node in tree.css('script[type="application/ld+json"]')[:20]:
        text = node.text()
        if len(text) > 256 * 1024:
            continue
        try:
            pending = [json.loads(text)]
        except ValueError:
            continue
        while pending and len(objects) < 200:
            item = pending.pop(0)
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                graph = item.get("@graph") or []
                pending.extend(graph if isinstance(graph, list) else [graph])
    return objects


def _ld_name(value) -> str | None:
    """A schema.org author: a name, a Person/Organization object, or a list of them (the first)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = value.get("name") or value.get("alternateName")
        return name if isinstance(name, str) else None
    if isinstance(value, list):
        return next((n for n in map(_ld_name, value) if n), None)
    return None


def _uploader(tree: LexborHTMLParser, ld: list[dict]) -> str | None:
    node = tree.css_first("[data-uploader]")
    if node is not None and (node.attributes.get("data-uploader") or "").strip():
        return _clip(node.attributes.get("data-uploader"))
    for obj in ld:
        name = _ld_name(obj.get("author")) or _ld_name(obj.get("creator"))
        if name and name.strip():
            return _clip(name)
    for sel, attr in (
        ('meta[name="author"]', "content"),
        ('meta[property="article:author"]', "content"),
        ('[itemprop="author"]', None),
        ('[rel~="author"]', None),
        (".uploader", None),
        (".username", None),
        (".author", None),
    ):
        for node in tree.css(sel)[:20]:  # the first that says something (a <link rel=author> has no text)
            if attr:
                value = node.attributes.get(attr)
            else:  # microdata: <div itemprop=author><span itemprop=name>..</span></div>, or <meta itemprop content>
                inner = node.css_first('[itemprop="name"]')
                value = node.attributes.get("content") or _text(inner if inner is not None else node)
            if value and value.strip():
                return _clip(value)
    return None


def _posted_at(tree: LexborHTMLParser, ld: list[dict]) -> tuple[str | None, str | None]:
    """(the first post time that parses, the raw text it came from); when none parses, (None, the
    first text the page gave as one)."""
    first: str | None = None
    for value in _post_time_texts(tree, ld):
        raw = value[:100]
        first = first if first is not None else raw
        parsed = post_time(value)
        if parsed:
            return parsed, raw
    return None, first


def _post_time_texts(tree: LexborHTMLParser, ld: list[dict]):
    node = tree.css_first('meta[property="article:published_time"]')
    if node is not None and node.attributes.get("content"):
        yield node.attributes.get("content")
    for obj in ld:
        for key in ("datePublished", "uploadDate", "dateCreated"):
            if isinstance(obj.get(key), str) and obj[key].strip():
                yield obj[key]
    for sel, attrs in (
        ('[itemprop="datePublished"], [itemprop="uploadDate"]', ("content", "datetime")),
        ("time[datetime]", ("datetime",)),
        ("[data-posted]", ("data-posted",)),
    ):
        for node in tree.css(sel)[:20]:
            value = next((node.attributes.get(a) for a in attrs if node.attributes.get(a)), None)
            if value and value.strip():
                yield value


def _scan_tags(body: bytes, col: _Collector) -> PageInfo:
    """Fallback for pathological pages: pull URL attributes out of tags without building a tree."""
    for m in _ATTR.finditer(body):
        name = m.group(1).lower()
        value = (m.group(2) or m.group(3) or m.group(4) or b"").decode("utf-8", "replace")
        start = body.rfind(b"<", 0, m.start())
        tag = _TAG.match(body, start) if start >= 0 else None
        tagname = tag.group(2).lower() if tag else b""
        if name == b"srcset":
            col.srcset(value)
        elif name == b"href" and tagname == b"a":
            col.link(value)
        elif name in (b"src", b"data-src", b"poster") and tagname in (b"img", b"video", b"source"):
            col.media(value, "img" if tagname == b"img" else "source")
        elif name == b"content" and tagname == b"meta" and looks_like_media_url(value):
            col.media(value, "og:image")
    return col.finish()
