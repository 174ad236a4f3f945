"""A generated website on 127.0.0.1 for tests, the demo and the benchmark.

It serves altered copies of protected photos among unrelated ones, on pages that show an
uploader and a post time, with robots.txt, an RSS feed, a sitemap, redirects and a hostile page.
Routes can change while it runs: take a URL down (404/410) or put a re-upload at a new URL.

    with generate_site(protected_paths, other_paths) as site:
        site.start_url, site.truth          # truth: media URL -> label of the original it copies
        site.take_down(url); site.add_reupload(label)
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class SiteServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose routes can be changed while it runs."""

    def __init__(self, fallback: Callable[[str], Route | None] | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.fallback = fallback
        self.requests: deque[tuple[str, str, dict[str, str]]] = deque(maxlen=200_000)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *args) -> None:  # quiet
                pass

            def _serve(self, with_body: bool) -> None:
                path = self.path.split("#", 1)[0]
                server.requests.append((self.command, path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.route(path)
                if route is None:
                    route = Route(b"<h1>Not found</h1>", status=404)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if with_body:
                    self.wfile.write(route.body)

            def do_GET(self) -> None:
                self._serve(True)

            def do_HEAD(self) -> None:
                self._serve(False)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="demo-site", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str) -> Route | None:
        with self._lock:
            route = self.routes.get(path)
        if route is None and self.fallback is not None:
            route = self.fallback(path)
        return route

    def set(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        if isinstance(body, str):
            body = body.encode("utf-8")
        with self._lock:
            self.routes[path] = Route(body, content_type, status, headers or {})
        return self.url(path)

    def remove(self, path: str, status: int = 410) -> None:
        """Take a path down: it answers `status` (404 or 410) from now on."""
        with self._lock:
            self.routes[path] = Route(b"<h1>Gone</h1>", status=status)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        with self._lock:
            self.routes[path] = Route(b"", status=status, headers={"Location": location})
        return self.url(path)

    def paths_requested(self) -> list[str]:
        return [p for _m, p, _h in list(self.requests)]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- altered copies ------------------------------------------------------------------------


def _alterations() -> list[tuple[str, Callable[[Image.Image], Image.Image]]]:
    from unleak.demo.run import ALTERATIONS

    return list(ALTERATIONS.items())


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def altered_copy(path: Path, index: int, max_side: int | None = None) -> tuple[str, bytes]:
    """(alteration name, JPEG bytes) of the index-th alteration of a photo."""
    name, alter = _alterations()[index % len(_alterations())]
    image = Image.open(path).convert("RGB")
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    return name, jpeg(alter(image), 50 if name == "jpeg-q50" else 85)


def _page(
    title: str, body: str, *, uploader: str | None = None, posted: str | None = None, og_image: str | None = None
) -> str:
    head = f"<title>{escape(title)}</title>"
    if og_image:
        head += f'<meta property="og:image" content="{escape(og_image)}">'
    byline = ""
    if uploader:
        byline += f'<p class="byline">posted by <a rel="author" href="/u/{escape(uploader)}">@{escape(uploader)}</a>'
        if posted:
            byline += f' on <time datetime="{posted}">{posted[:10]}</time>'
        byline += "</p>"
    return f"<!doctype html><html><head>{head}</head><body><h1>{escape(title)}</h1>{byline}{body}</body></html>"


@dataclass
class GeneratedSite:
    server: SiteServer
    truth: dict[str, str]  # media URL of an altered copy -> label (file stem) of the original
    distractors: list[str]  # media URLs of unrelated images
    pages: list[str]
    uploaders: dict[str, str]  # media URL -> uploader handle shown on its page
    copies: dict[str, bytes]  # label -> bytes of the altered copy (for re-uploads)
    disallowed: list[str]  # URLs robots.txt forbids (a protected copy sits there)
    bylines: dict[str, tuple[str, str]] = field(default_factory=dict)  # post page URL -> (uploader, post time)
    _n: int = 0

    @property
    def start_url(self) -> str:
        return self.server.url("/")

    @property
    def feed_url(self) -> str:
        return self.server.url("/feed.xml")

    @property
    def sitemap_url(self) -> str:
        return self.server.url("/sitemap.xml")

    @property
    def ssrf_url(self) -> str:
        """A page linked from nowhere whose media and links all point inside the network (see ssrf_page)."""
        return self.server.url("/ssrf.html")

    def take_down(self, url: str, status: int = 410) -> None:
        """Remove a media URL (and its page, if it is a page) from the site."""
        self.server.remove(url.removeprefix(self.server.base), status)

    def add_reupload(self, label: str, *, uploader: str = "again") -> tuple[str, str]:
        """Put the copy of `label` at a new media URL on a new page linked from the index.
        Returns (page URL, media URL)."""
        self._n += 1
        media_path = f"/reup/{self._n}-{hashlib.sha256(label.encode()).hexdigest()[:8]}.jpg"
        media_url = self.server.set(media_path, self.copies[label], "image/jpeg")
        page_path = f"/reup/{self._n}.html"
        page_url = self.server.set(
            page_path,
            _page(
                f"re-upload {self._n}", f'<img src="{media_path}">', uploader=uploader, posted="2026-03-01T12:00:00Z"
            ),
        )
        self.bylines[page_url] = (uploader, "2026-03-01T12:00:00Z")
        index = self.server.route("/")
        assert index is not None
        self.server.set("/", index.body.replace(b"</body>", f'<a href="{page_path}">new</a></body>'.encode()))
        self.truth[media_url] = label
        self.uploaders[media_url] = uploader
        self.pages.append(page_url)
        return page_url, media_url

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> GeneratedSite:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def generate_site(
    protected: list[Path],
    others: list[Path],
    *,
    videos: dict[str, bytes] | None = None,
    server: SiteServer | None = None,
    max_side: int = 640,
) -> GeneratedSite:
    """Serve a small site: one post per altered copy of each protected photo, one per unrelated
    photo, each embedding its image a different way (img, srcset, og:image, <a href>, <video>).

    `videos` maps a label to the bytes of a video copy, embedded with <video><source>.
    One copy also appears on a second page (it is still one sighting), one sits under a path
    robots.txt disallows (it must never be fetched), and /weird.html is hostile markup.
    """
    server = server or SiteServer()
    truth: dict[str, str] = {}
    uploaders: dict[str, str] = {}
    copies: dict[str, bytes] = {}
    distractors: list[str] = []
    pages: list[str] = []
    posts: list[tuple[str, str, str]] = []  # (page path, title, uploader)
    bylines: dict[str, tuple[str, str]] = {}
    t0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    styles = ["img", "srcset", "og", "link", "picture"]

    def post(n: int, media_path: str, style: str, uploader: str, ctype: str = "image/jpeg") -> str:
        posted = (t0 + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        title = f"post {n}"
        og = None
        if style == "img":
            body = f'<div class="post"><img src="{media_path}" alt="photo"></div>'
        elif style == "srcset":
            body = f'<img src="/static/spacer.gif" srcset="{media_path} 2x, /static/spacer.gif 1x">'
        elif style == "og":
            body, og = "<p>see the preview</p>", server.url(media_path)
        elif style == "link":
            body = f'<p><a href="{media_path}">full size</a></p>'
        elif style == "picture":
            body = f'<picture><source srcset="{media_path}"><img src="/static/spacer.gif"></picture>'
        else:  # video
            body = f'<video controls><source src="{media_path}" type="{ctype}"></video>'
        path = f"/posts/{n}.html"
        server.set(path, _page(title, body, uploader=uploader, posted=posted, og_image=og))
        posts.append((path, title, uploader))
        bylines[server.url(path)] = (uploader, posted)
        pages.append(server.url(path))
        return path

    server.set(
        "/static/spacer.gif",
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01"
        b"\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        "image/gif",
    )
    n = 0
    for i, src in enumerate(protected):
        _name, data = altered_copy(src, i, max_side)
        label = src.stem
        copies[label] = data
        media_path = f"/media/{hashlib.sha256(data).hexdigest()[:16]}.jpg"
        # Served with a misleading type: content is sniffed, not trusted.
        server.set(media_path, data, "application/octet-stream" if i == 1 else "image/jpeg")
        uploader = f"user{i}"
        post(n, media_path, styles[i % len(styles)], uploader)
        truth[server.url(media_path)] = label
        uploaders[server.url(media_path)] = uploader
        n += 1
    for label, data in (videos or {}).items():
        media_path = f"/media/{hashlib.sha256(data).hexdigest()[:16]}.mp4"
        server.set(media_path, data, "video/mp4")
        post(n, media_path, "video", f"vid{n}", "video/mp4")
        truth[server.url(media_path)] = label
        uploaders[server.url(media_path)] = f"vid{n}"
        copies[label] = data
        n += 1
    for j, src in enumerate(others):
        image = Image.open(src).convert("RGB")
        image.thumbnail((max_side, max_side))
        data = jpeg(image, 80)
        media_path = f"/media/other-{j}.jpg"
        server.set(media_path, data, "image/jpeg")
        post(n, media_path, styles[j % len(styles)], f"someone{j}")
        distractors.append(server.url(media_path))
        n += 1
    first_copy = next(iter(truth), None)
    if first_copy:  # the same media URL on a second page: still one sighting
        post(n, first_copy.removeprefix(server.base), "img", "user0")
        n += 1
    disallowed = []
    if protected:
        _name, data = altered_copy(protected[0], 3, max_side)
        server.set("/private/leak.jpg", data, "image/jpeg")
        server.set("/private/index.html", _page("private", '<img src="/private/leak.jpg">'))
        disallowed = [server.url("/private/index.html"), server.url("/private/leak.jpg")]
    server.set("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    server.set("/weird.html", hostile_page())
    server.redirect("/moved.html", "/posts/0.html", 301)
    ssrf_page(server)
    links = "".join(f'<li><a href="{p}">{escape(t)}</a></li>' for p, t, _u in posts)
    server.set(
        "/",
        _page(
            "a gallery",
            f'<ul>{links}</ul><a href="/private/index.html">private</a>'
            '<a href="/weird.html">weird</a><a href="/moved.html">moved</a>'
            '<a href="/feed.xml">feed</a><a href="/does-not-exist.html">broken</a>',
        ),
    )
    pages.insert(0, server.url("/"))
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{server.url(p)}</link><author>{u}@example.invalid ({u})</author>"
        f"<pubDate>Sun, 01 Feb 2026 09:00:00 GMT</pubDate></item>"
        for p, t, u in posts
    )
    server.set(
        "/feed.xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>gallery</title>'
        f"<link>{server.base}/</link><description>posts</description>{items}</channel></rss>",
        "application/rss+xml",
    )
    locs = "".join(f"<url><loc>{server.url(p)}</loc></url>" for p, _t, _u in posts)
    server.set(
        "/sitemap.xml",
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>',
        "application/xml",
    )
    return GeneratedSite(server, truth, distractors, pages, uploaders, copies, disallowed, bylines)


PRIVATE_NAME = "inside.invalid"  # a host name that a test's resolver points inside the network


def ssrf_page(server: SiteServer) -> str:
    """/ssrf.html, linked from nowhere (crawl it on purpose): media and a link that point inside the
    network directly, through a name (PRIVATE_NAME) and through redirects on this site. A guarded
    scan fetches none of them and says why."""
    server.redirect("/media/inside.jpg", "http://10.0.0.1/secret.jpg", 302)
    server.redirect("/inside.html", "http://169.254.169.254/latest/meta-data/", 307)
    return server.set(
        "/ssrf.html",
        _page(
            "inside",
            (
                '<img src="http://169.254.169.254/latest/meta-data/"><img src="http://10.0.0.1/x.jpg">'
                f'<img src="http://{PRIVATE_NAME}/x.jpg"><video><source src="http://[::ffff:192.168.0.1]/v.mp4"></video>'
                '<img src="/media/inside.jpg"><a href="/inside.html">inside</a>'
            ),
        ),
    )


def hostile_page() -> str:
    """Malformed markup, script and data URLs, an absurd srcset, links to forbidden addresses."""
    srcset = ", ".join(f"/static/spacer.gif?{i} {i}w" for i in range(5000))
    return (
        "<html><head><title>weird<body><div><div><p><b><i>unclosed"
        '<a href="javascript:alert(1)">js</a><a href="data:text/html,hi">data</a>'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        f'<img srcset="{srcset}">'
        '<a href="http://[::1">broken url</a><a href="mailto:x@example.invalid">mail</a>'
        '<a href="http://169.254.169.254/latest/meta-data/">metadata</a>'
        '<img src="http://10.0.0.1/x.jpg">' + "<span>" * 5000 + "deep" + "</span>" * 10 + "</html>"
    )


# --- the benchmark's big site ----------------------------------------------------------------


def big_site_pool(side: int = 512) -> tuple[list[Path], list[bytes], dict[int, str]]:
    """What `big_site` serves: (the 6 protected sample photos, a pool of JPEGs, pool index ->
    the protected photo's stem for the altered copies among them; the rest are unrelated)."""
    from unleak.samples import sample_images

    photos = []
    for p in sample_images():
        with Image.open(p) as im:
            if min(im.size) >= 256:
                photos.append(p)
    protected, others = photos[:6], photos[6:]
    pool: list[bytes] = []
    copy_of: dict[int, str] = {}
    for i, p in enumerate(protected):
        copy_of[len(pool)] = p.stem
        pool.append(altered_copy(p, i, side)[1])
    for p in others:
        with Image.open(p) as opened:
            small = opened.convert("RGB")
        small.thumbnail((side, side))
        pool.append(jpeg(small, 80))
    return protected, pool, copy_of


def big_site(
    n_pages: int, pool: list[bytes], copy_of: dict[int, str], fanout: int = 3
) -> tuple[SiteServer, dict[str, str]]:
    """A procedurally generated site of `n_pages` pages, each with one image from `pool`
    at its own URL (so every image is fetched and hashed), linked as a tree from /p/0.html.
    `copy_of` maps pool indices that are altered copies to their labels. Returns (server, truth)."""

    def fallback(path: str) -> Route | None:
        if path == "/":
            return Route(b'<html><body><a href="/p/0.html">start</a></body></html>')
        if path == "/robots.txt":
            return Route(b"User-agent: *\nAllow: /\n", "text/plain")
        if path.startswith("/p/") and path.endswith(".html"):
            try:
                i = int(path[3:-5])
            except ValueError:
                return None
            if not 0 <= i < n_pages:
                return None
            kids = "".join(
                f'<a href="/p/{k}.html">page {k}</a>'
                for k in range(fanout * i + 1, fanout * i + fanout + 1)
                if k < n_pages
            )
            byline = (
                f'<p>by <span class="uploader">@u{i % 97}</span> <time datetime="2026-01-01T00:00:00Z">Jan 1</time></p>'
            )
            return Route(_page(f"page {i}", f'{byline}<img src="/m/{i}.jpg">{kids}').encode())
        if path.startswith("/m/") and path.endswith(".jpg"):
            try:
                i = int(path[3:-4])
            except ValueError:
                return None
            return Route(pool[i % len(pool)], "image/jpeg") if 0 <= i < n_pages else None
        return None

    server = SiteServer(fallback)
    truth = {server.url(f"/m/{i}.jpg"): copy_of[i % len(pool)] for i in range(n_pages) if i % len(pool) in copy_of}
    return server, truth


# --- the demo's "find and document" step ---------------------------------------------------------


def demo_find_and_document(
    store,
    case: str,
    protected: list[Path],
    others: list[Path],
    workdir: Path,
    console=None,
    then: Callable[[GeneratedSite], bool] | None = None,
) -> bool:
    """The demo step for `unleak demo`: serve a generated site on 127.0.0.1 with altered copies of
    the (already protected) photos among unrelated ones, crawl it, capture each sighting, export
    an evidence bundle, verify it, and show that one flipped byte is caught.

    Call after the bank of `case` holds `protected`. True when exactly the copies were found and
    the bundle verifies (and fails once altered). `then(site)` runs while the site is still up
    (the take-down step), before the bundle is exported, and its answer counts too."""
    import shutil

    from rich.console import Console

    from unleak.console import table
    from unleak.evidence.export import export_bundle
    from unleak.evidence.verify import verify_bundle
    from unleak.monitor.scan import Scanner, ScanOptions
    from unleak.monitor.sources import SourceOptions, add_source
    from unleak.net.fetch import FetchPolicy
    from unleak.takedown.report import bundle_section

    console = console or Console()
    with generate_site(protected, others) as site:
        console.print(
            f"A website is running at {site.start_url}: {len(site.truth)} altered copies among "
            f"{len(site.distractors)} unrelated photos, with uploader names and post times."
        )
        src = add_source(
            store, case, "crawl", [site.start_url], SourceOptions(depth=2, allow_networks=["127.0.0.1/32"])
        )
        report = Scanner(store, case, ScanOptions(policy=FetchPolicy(rate=None), verify="auto")).scan_source(src.id)
        found = {e.media_url for e in report.sightings}
        table(
            "Sightings (each captured as WARC, encrypted at rest, and logged)",
            ["media URL", "page", "bank id", "how"],
            [
                (
                    e.media_url.removeprefix(site.server.base),
                    (e.page_url or "").removeprefix(site.server.base),
                    e.bank_id,
                    _how(e.signal, e.distance),
                )
                for e in report.sightings
            ],
        )
        st = report.stats
        console.print(
            f"Crawled {st['pages']} pages and {st['media']} images; refused {st['blocked']} URL(s) "
            "(robots.txt, private addresses); "
            f"{len(found & set(site.truth))} of {len(site.truth)} copies found, "
            f"{len(found - set(site.truth))} false sightings."
        )
        later_ok = then(site) if then else True
    bundle = Path(workdir) / "evidence-bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    result = export_bundle(store, case, bundle, takedown=bundle_section)
    # Verified as a lawyer would: against the key fingerprint they were given when the case began.
    check = verify_bundle(bundle, keys=[result.key_fingerprint])
    console.print(
        f"Exported {bundle}: {result.captures} captures, log head {result.head_hash[:16]}…, signed by the "
        f"case's key {result.key_fingerprint}; verify --key: {'intact' if check.ok else check.problem}.",
        highlight=False,
    )
    tampered = Path(workdir) / "evidence-bundle-tampered"
    shutil.rmtree(tampered, ignore_errors=True)
    shutil.copytree(bundle, tampered)
    victim = sorted((tampered / "warc").glob("*.warc.gz"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 1
    victim.write_bytes(bytes(data))
    bad = verify_bundle(tampered, keys=[result.key_fingerprint])
    console.print(f"One byte flipped in a copy of the bundle: {bad.problem}", highlight=False)
    return found == set(site.truth) and check.ok and not bad.ok and later_ok


def _how(signal: str, distance: int) -> str:
    """How a sighting matched, in words: a local-feature match has no meaningful PDQ distance."""
    if signal == "local":
        return "checked against the original"
    return f"{signal.upper()}, {distance} bits" if signal in ("pdq", "vpdq") else f"same file ({signal})"
