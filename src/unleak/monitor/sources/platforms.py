"""Platform connectors: the public, documented interfaces of the places leaks spread.

Each kind reads a listing page by page (its own task kind, `<kind>-page`), and hands every image
or video it names to the scan loop as a `media` task with the post's URL, the uploader's handle
and the post time. What it cannot read is recorded with the reason (`TaskContext.unreachable`):
a deleted or removed post, a private, suspended or banned account, a rate limit that outlasts
what a scan may wait. Every request goes through the guarded fetcher (SSRF guard, robots.txt,
per-host rate, deadlines; 429 and 503 retried after their Retry-After). `api_base` points a
connector at another instance, or at a test server.

See docs/sources.md for what each reads, its limits, and the platform's rules it follows.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

from unleak.errors import UnleakError
from unleak.monitor.sources.base import OptionSpec, SourceKind, SourceOptions, Task, TaskContext, register
from unleak.monitor.sources.credentials import platform_token
from unleak.net.fetch import FetchResult
from unleak.net.guard import FetchError
from unleak.net.html import looks_like_media_url, post_time
from unleak.text import clip, neutralize

MAX_WAIT = 60.0  # the longest a connector waits for a rate-limit window inside one scan


def _base(url: str, what: str = "--api-base") -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnleakError(f"{what} {clip(neutralize(url))!r} is not an http(s) URL", hint="e.g. https://example.social")
    return url


def _same_host(url: str, base: str) -> bool:
    return urlsplit(url).netloc.lower() == urlsplit(base).netloc.lower()


def _iso(ts: Any) -> str | None:
    """A Unix time (Reddit's created_utc) as ISO 8601 UTC."""
    try:
        return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _hints(post_url: str, uploader: str | None, posted: str | None) -> dict[str, Any]:
    hints: dict[str, Any] = {"page_url": post_url}
    if uploader:
        hints["uploader"] = clip(str(uploader), 200)
    if posted:
        hints["posted_raw"] = clip(str(posted), 100)
        when = post_time(str(posted))
        if when:
            hints["posted_at"] = when
    return hints


def _media_task(url: str | None, post_url: str, hints: dict[str, Any]) -> Task | None:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return None
    return Task(url, "media", 0, post_url, dict(hints))


def _obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _api_error(body: bytes) -> str:
    """The error code or message an API put in its error answer, if it is JSON."""
    try:
        data = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get(k)) for k in ("error", "reason", "message") if isinstance(data.get(k), str | int)]
    return clip(neutralize(": ".join(dict.fromkeys(parts))), 200)


class _Connector(SourceKind):
    """What the connectors share: targets, `api_base`, a page budget, JSON fetching that records
    what could not be read, and the rate-limit headers platforms send."""

    default_base: ClassVar[str] = ""
    platform: ClassVar[str] = ""
    options: ClassVar[tuple[OptionSpec, ...]] = (
        OptionSpec("api_base", str, "the server to ask (another instance, or a test server)"),
        OptionSpec("pages", int, "listing pages to read per target and scan", default=10, min=1, max=1000),
    )

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        raise NotImplementedError

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        values = cls.option_values(options)
        if not targets:
            raise UnleakError(f"no {cls.name} target given", hint=cls.summary)
        parsed = [cls.parse_target(t.strip()) for t in targets]
        config: dict[str, Any] = {"targets": [p["label"] for p in parsed], "parsed": parsed, **values}
        if values.get("api_base"):
            config["api_base"] = _base(values["api_base"])
        return config

    @classmethod
    def seeds(cls, config: dict[str, Any]) -> Iterable[Task]:
        platform_token(cls.platform or cls.name)  # a token file others can read stops the scan before it starts
        return [cls.first_task(config, p) for p in config["parsed"]]

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        raise NotImplementedError

    @classmethod
    def base_for(cls, config: dict[str, Any], target: dict[str, str] | None = None) -> str:
        if config.get("api_base"):
            return str(config["api_base"])
        if target and target.get("instance"):
            return f"https://{target['instance']}"
        return cls.default_base

    @classmethod
    def headers(cls) -> dict[str, str]:
        token = platform_token(cls.platform or cls.name)
        return {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}

    @classmethod
    def get(
        cls, ctx: TaskContext, url: str, what: str, *, json_body: bool = True, accept: str | None = None
    ) -> FetchResult | None:
        """Fetch one listing page; on an HTTP error, record why it could not be read and return None."""
        headers = cls.headers() if json_body else None
        if headers is not None and accept:
            headers["Accept"] = accept
        try:
            return ctx.fetcher.fetch(url, kind="page", headers=headers)
        except FetchError as exc:
            if exc.status is None:
                raise  # refused or unreachable: the scan records it as such
            ctx.unreachable(url, cls.explain(exc, what))
            return None

    @classmethod
    def explain(cls, exc: FetchError, what: str) -> str:
        code = _api_error(exc.body)
        detail = f" ({code})" if code else ""
        status = exc.status
        if status == 429:
            wait = f"; it asked to wait {exc.retry_after:g} s" if exc.retry_after is not None else ""
            return f"{what}: rate limited (HTTP 429{wait}), still limited after waiting: read again next scan{detail}"
        if status in (401, 403):
            return f"{what}: private, or needs an account (HTTP {status}){detail}"
        if status in (404, 410):
            return f"{what}: not found, deleted, banned or suspended (HTTP {status}){detail}"
        return f"{what}: HTTP {status}{detail}"

    @classmethod
    def load(cls, ctx: TaskContext, r: FetchResult, what: str) -> Any:
        try:
            return json.loads(r.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            ctx.unreachable(r.url, f"{what}: the answer is not JSON")
            return None

    @classmethod
    def pace(cls, ctx: TaskContext, r: FetchResult, remaining_header: str, reset_header: str) -> bool:
        """Honour a platform's rate-limit headers before the next page: when no request is left in the
        window, wait for its reset (up to MAX_WAIT); False when the wait would be longer."""
        remaining, reset = r.header(remaining_header), r.header(reset_header)
        try:
            left = float(remaining) if remaining is not None else None
        except ValueError:
            left = None
        if left is None or left >= 1:
            return True
        wait = _seconds_until(reset)
        if wait is None or wait <= MAX_WAIT:
            time.sleep(max(0.0, wait or 1.0))
            return True
        ctx.unreachable(r.url, f"rate limit used up for {wait:.0f} s more: the next pages are read next scan")
        return False


def _seconds_until(reset: str | None) -> float | None:
    """A reset header as seconds from now: seconds (Reddit), a Unix time (Bluesky) or ISO (Mastodon)."""
    if not reset:
        return None
    reset = reset.strip()
    try:
        value = float(reset)
    except ValueError:
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    if value > 1_000_000_000:  # an epoch time
        return max(0.0, value - time.time())
    return max(0.0, value)


# --- Reddit ---------------------------------------------------------------------------------------
_REDDIT_NAME = re.compile(r"(?:https?://(?:www\.|old\.)?reddit\.com)?/?(r|u|user)/([A-Za-z0-9_-]{2,21})/?")


@register
class RedditSource(_Connector):
    name = "reddit"
    summary = "a subreddit's (r/NAME) or a user's (u/NAME) newest posts, from Reddit's listing JSON"
    default_base = "https://www.reddit.com"

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        m = _REDDIT_NAME.fullmatch(target)
        if not m:
            raise UnleakError(f"{clip(neutralize(target))!r} is not r/NAME or u/NAME", hint="e.g. r/pics or u/someone")
        kind = "r" if m.group(1) == "r" else "u"
        return {"label": f"{kind}/{m.group(2)}", "type": kind, "name": m.group(2)}

    @classmethod
    def base_for(cls, config: dict[str, Any], target: dict[str, str] | None = None) -> str:
        if config.get("api_base"):
            return str(config["api_base"])
        return "https://oauth.reddit.com" if platform_token("reddit") else cls.default_base

    @classmethod
    def listing_url(cls, config: dict[str, Any], target: dict[str, str], after: str | None) -> str:
        base = cls.base_for(config, target)
        path = f"/r/{target['name']}/new.json" if target["type"] == "r" else f"/user/{target['name']}/submitted.json"
        query = {"limit": "100", "raw_json": "1", **({"after": after} if after else {})}
        return f"{base}{path}?{urlencode(query)}"

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        return Task(cls.listing_url(config, target, None), "reddit-page", hints={"target": target, "page": 1})

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        target, page = task.hints["target"], int(task.hints.get("page", 1))
        r = cls.get(ctx, task.url, target["label"])
        data = cls.load(ctx, r, target["label"]) if r else None
        if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
            return []
        web = ctx.config.get("api_base") or cls.default_base
        out: list[Task] = []
        for child in data["data"].get("children") or []:
            post = child.get("data") if isinstance(child, dict) and child.get("kind") == "t3" else None
            if isinstance(post, dict):
                out += cls.post_media(ctx, post, web)
        after = data["data"].get("after")
        more = isinstance(after, str) and after and page < int(ctx.config.get("pages") or 10)
        if more and r is not None and cls.pace(ctx, r, "x-ratelimit-remaining", "x-ratelimit-reset"):
            next_url = cls.listing_url(ctx.config, target, str(after))
            out.append(Task(next_url, "reddit-page", 0, task.url, {"target": target, "page": page + 1}))
        return out

    @classmethod
    def post_media(cls, ctx: TaskContext, post: dict[str, Any], web: str) -> list[Task]:
        permalink = post.get("permalink")
        post_url = (
            urljoin(web + "/", str(permalink).lstrip("/")) if isinstance(permalink, str) else str(post.get("url"))
        )
        author = post.get("author")
        uploader = f"u/{author}" if isinstance(author, str) and author != "[deleted]" else None
        removed = post.get("removed_by_category")
        if removed or author == "[deleted]":
            why = {"deleted": "deleted by its author", "moderator": "removed by a moderator"}.get(
                str(removed), f"removed ({clip(neutralize(str(removed or 'author deleted')), 60)})"
            )
            ctx.unreachable(post_url, f"post {why}; any media still served is checked")
        hints = _hints(post_url, uploader, _iso(post.get("created_utc")))
        urls: list[str] = []
        direct = post.get("url_overridden_by_dest") or post.get("url")
        if isinstance(direct, str) and (
            looks_like_media_url(direct) or urlsplit(direct).hostname in ("i.redd.it", "i.imgur.com")
        ):
            urls.append(direct)
        metadata = post.get("media_metadata")
        if isinstance(metadata, dict):  # a gallery: each item's source image (or its mp4 for an animation)
            for item in metadata.values():
                source = item.get("s") if isinstance(item, dict) else None
                if isinstance(source, dict):
                    urls.append(source.get("u") or source.get("mp4") or source.get("gif") or "")
        video = ((post.get("secure_media") or post.get("media") or {}) or {}).get("reddit_video")
        if isinstance(video, dict) and video.get("fallback_url"):
            urls.append(str(video["fallback_url"]))
        if not urls:  # a link post: the preview Reddit made of it
            for image in (post.get("preview") or {}).get("images") or []:
                source = image.get("source") if isinstance(image, dict) else None
                if isinstance(source, dict) and source.get("url"):
                    urls.append(str(source["url"]))
        out = []
        for u in dict.fromkeys(urls):
            t = _media_task(u, post_url, hints)
            if t:
                out.append(t)
        return out


# --- Bluesky --------------------------------------------------------------------------------------
_HANDLE = re.compile(
    r"@?((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9-]*|did:[a-z]+:[\w.:%-]+)"
)


@register
class BlueskySource(_Connector):
    name = "bluesky"
    summary = "a Bluesky account's posts (@handle) or a search (search:QUERY), from the AT Protocol AppView"
    default_base = "https://public.api.bsky.app"
    options = (
        *_Connector.options,
        OptionSpec("web_base", str, "where post pages are (default https://bsky.app)", default="https://bsky.app"),
    )

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        if target.startswith("search:"):
            query = target[len("search:") :].strip()
            if not query or len(query) > 300:
                raise UnleakError("search: needs a query of 1 to 300 characters", hint='e.g. "search:some words"')
            return {"label": f"search:{query}", "type": "search", "query": query}
        m = _HANDLE.fullmatch(target)
        if not m:
            raise UnleakError(
                f"{clip(neutralize(target))!r} is not @handle or search:QUERY", hint="e.g. @someone.bsky.social"
            )
        return {"label": f"@{m.group(1)}", "type": "author", "actor": m.group(1)}

    @classmethod
    def page_url(cls, config: dict[str, Any], target: dict[str, str], cursor: str | None) -> str:
        base = cls.base_for(config, target)
        extra = {"cursor": cursor} if cursor else {}
        if target["type"] == "search":
            query = {"q": target["query"], "sort": "latest", "limit": "100", **extra}
            return f"{base}/xrpc/app.bsky.feed.searchPosts?{urlencode(query)}"
        query = {"actor": target["actor"], "filter": "posts_with_media", "limit": "100", **extra}
        return f"{base}/xrpc/app.bsky.feed.getAuthorFeed?{urlencode(query)}"

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        return Task(cls.page_url(config, target, None), "bluesky-page", hints={"target": target, "page": 1})

    @classmethod
    def explain(cls, exc: FetchError, what: str) -> str:
        code = _api_error(exc.body)
        known = {
            "AccountTakedown": "the account was taken down by the service",
            "AccountDeactivated": "the account is deactivated",
            "BlockedActor": "the account blocks us",
            "BlockedByActor": "the account blocks us",
        }
        for key, text in known.items():
            if code.startswith(key):
                return f"{what}: {text} (HTTP {exc.status}, {key})"
        if "not found" in code.lower():
            return f"{what}: no such account (HTTP {exc.status}: {code})"
        return super().explain(exc, what)

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        target, page = task.hints["target"], int(task.hints.get("page", 1))
        r = cls.get(ctx, task.url, target["label"])
        data = cls.load(ctx, r, target["label"]) if r else None
        if not isinstance(data, dict):
            return []
        if target["type"] == "search":
            posts = [p for p in data.get("posts") or [] if isinstance(p, dict)]
        else:
            posts = []
            for item in data.get("feed") or []:
                if not isinstance(item, dict):
                    continue
                reply = _obj(item.get("reply"))
                for other in (reply.get("parent"), reply.get("root")):
                    cls.missing(ctx, other, ctx.config.get("web_base") or "https://bsky.app")
                if isinstance(item.get("post"), dict):
                    posts.append(item["post"])
        out: list[Task] = []
        web = str(ctx.config.get("web_base") or "https://bsky.app").rstrip("/")
        for post in posts:
            if cls.missing(ctx, post, web):
                continue
            out += cls.post_media(ctx, post, web)
        cursor = data.get("cursor")
        more = isinstance(cursor, str) and cursor and posts and page < int(ctx.config.get("pages") or 10)
        if more and r is not None and cls.pace(ctx, r, "ratelimit-remaining", "ratelimit-reset"):
            next_url = cls.page_url(ctx.config, target, str(cursor))
            out.append(Task(next_url, "bluesky-page", 0, task.url, {"target": target, "page": page + 1}))
        return out

    @staticmethod
    def post_url(uri: str, handle: str | None, web: str) -> str:
        # at://did/app.bsky.feed.post/rkey -> https://bsky.app/profile/handle/post/rkey
        parts = uri.removeprefix("at://").split("/")
        who = handle or (parts[0] if parts else "")
        rkey = parts[-1] if len(parts) >= 3 else ""
        return f"{web}/profile/{quote(who, safe=':.')}/post/{quote(rkey, safe='')}"

    @classmethod
    def missing(cls, ctx: TaskContext, post: Any, web: str) -> bool:
        """A deleted (notFoundPost) or blocked (blockedPost) post: recorded, True."""
        if not isinstance(post, dict):
            return False
        uri = str(post.get("uri") or "")
        if post.get("notFound") or str(post.get("$type", "")).endswith("#notFoundPost"):
            ctx.unreachable(cls.post_url(uri, None, web), "post deleted")
            return True
        if post.get("blocked") or str(post.get("$type", "")).endswith("#blockedPost"):
            ctx.unreachable(cls.post_url(uri, None, web), "post hidden: its author blocks us or is blocked")
            return True
        return False

    @classmethod
    def post_media(cls, ctx: TaskContext, post: dict[str, Any], web: str) -> list[Task]:
        author = _obj(post.get("author"))
        handle = author.get("handle") if isinstance(author.get("handle"), str) else None
        post_url = cls.post_url(str(post.get("uri") or ""), handle, web)
        record = _obj(post.get("record"))
        hints = _hints(post_url, f"@{handle}" if handle else author.get("did"), record.get("createdAt"))
        embed = _obj(post.get("embed"))
        if isinstance(embed.get("media"), dict):  # recordWithMedia: a quote post with its own media
            embed = embed["media"]
        urls: list[str] = []
        kind = str(embed.get("$type", ""))
        if kind.startswith("app.bsky.embed.images"):
            urls += [
                str(i.get("fullsize") or i.get("thumb") or "") for i in embed.get("images") or [] if isinstance(i, dict)
            ]
        elif kind.startswith("app.bsky.embed.video"):
            if embed.get("thumbnail"):  # the video itself is an HLS playlist: its poster frame is matched
                urls.append(str(embed["thumbnail"]))
            ctx.unreachable(post_url, "video served as an HLS stream: only its thumbnail is checked")
        out = []
        for u in dict.fromkeys(urls):
            t = _media_task(u, post_url, hints)
            if t:
                out.append(t)
        return out


# --- ActivityPub (Mastodon-compatible API) ----------------------------------------------------------
_ACCT = re.compile(r"@([A-Za-z0-9_.-]{1,64})@([A-Za-z0-9.-]+(?::\d+)?)")
_TAG = re.compile(r"#([\w]{1,100})@([A-Za-z0-9.-]+(?::\d+)?)")
_PUBLIC = re.compile(r"public@([A-Za-z0-9.-]+(?::\d+)?)")
_LINK = re.compile(r"<([^>]*)>\s*;\s*rel=\"?([^\";]+)\"?")


def link_next(header: str | None) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header."""
    for url, rel in _LINK.findall(header or ""):
        if "next" in rel.split():
            return url
    return None


@register
class ActivityPubSource(_Connector):
    name = "activitypub"
    summary = "a Mastodon-compatible server: an account (@user@instance), a hashtag (#tag@instance), public@instance"
    options = (
        *_Connector.options,
        OptionSpec(
            "via",
            str,
            "api (the Mastodon API, default) or outbox (an account's ActivityPub outbox)",
            default="api",
        ),
    )

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        config = super().configure(targets, options)
        if config["via"] not in ("api", "outbox"):
            raise UnleakError(f"activitypub option via={config['via']!r}: choose api or outbox")
        if config["via"] == "outbox" and any(p["type"] != "account" for p in config["parsed"]):
            raise UnleakError("via=outbox reads accounts only", hint="give @user@instance targets")
        return config

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        for regex, kind in ((_ACCT, "account"), (_TAG, "tag")):
            m = regex.fullmatch(target)
            if m:
                sign = "@" if kind == "account" else "#"
                return {
                    "label": f"{sign}{m.group(1)}@{m.group(2)}",
                    "type": kind,
                    "name": m.group(1),
                    "instance": m.group(2),
                }
        m = _PUBLIC.fullmatch(target)
        if m:
            return {"label": f"public@{m.group(1)}", "type": "public", "name": "", "instance": m.group(1)}
        raise UnleakError(
            f"{clip(neutralize(target))!r} is not @user@instance, #tag@instance or public@instance",
            hint="e.g. @someone@mastodon.social or #tag@mastodon.social",
        )

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        base = cls.base_for(config, target)
        if target["type"] == "account" and config.get("via") == "outbox":
            resource = f"acct:{target['name']}@{target['instance']}"
            url = f"{base}/.well-known/webfinger?{urlencode({'resource': resource})}"
            return Task(url, "activitypub-finger", hints={"target": target, "page": 0})
        if target["type"] == "account":
            url = f"{base}/api/v1/accounts/lookup?{urlencode({'acct': target['name']})}"
            return Task(url, "activitypub-lookup", hints={"target": target})
        if target["type"] == "tag":
            url = f"{base}/api/v1/timelines/tag/{quote(target['name'], safe='')}?limit=40&only_media=true"
        else:
            url = f"{base}/api/v1/timelines/public?limit=40&only_media=true"
        return Task(url, "activitypub-page", hints={"target": target, "page": 1})

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        target = task.hints["target"]
        base = cls.base_for(ctx.config, target)
        if task.kind in ("activitypub-finger", "activitypub-actor", "activitypub-outbox"):
            return cls.outbox_step(ctx, task, target, base)
        r = cls.get(ctx, task.url, target["label"])
        data = cls.load(ctx, r, target["label"]) if r else None
        if task.kind == "activitypub-lookup":
            if not isinstance(data, dict) or not data.get("id"):
                return []
            if data.get("suspended"):
                ctx.unreachable(task.url, f"{target['label']}: the account is suspended")
                return []
            if data.get("limited"):
                ctx.unreachable(task.url, f"{target['label']}: the account is limited by its server (read anyway)")
            account_id = quote(str(data["id"]), safe="")
            url = f"{base}/api/v1/accounts/{account_id}/statuses?limit=40&only_media=true"
            return [Task(url, "activitypub-page", 0, task.url, {"target": target, "page": 1})]
        if not isinstance(data, list) or r is None:
            return []
        page = int(task.hints.get("page", 1))
        out: list[Task] = []
        for status in data:
            if isinstance(status, dict):
                out += cls.status_media(status, target)
        nxt = link_next(r.header("link"))
        if nxt and data and page < int(ctx.config.get("pages") or 10):
            nxt = urljoin(task.url, nxt)
            if not _same_host(nxt, base):
                ctx.unreachable(nxt, "the next page is on another server: not followed")
            elif cls.pace(ctx, r, "x-ratelimit-remaining", "x-ratelimit-reset"):
                out.append(Task(nxt, "activitypub-page", 0, task.url, {"target": target, "page": page + 1}))
        return out

    @classmethod
    def outbox_step(cls, ctx: TaskContext, task: Task, target: dict[str, str], base: str) -> list[Task]:
        """WebFinger -> the actor -> its outbox (an OrderedCollection) -> its pages, by `next`."""
        accept = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
        finger = task.kind == "activitypub-finger"
        r = cls.get(ctx, task.url, target["label"], accept=None if finger else accept)
        data = _obj(cls.load(ctx, r, target["label"]) if r else None)
        if not data:
            return []
        page = int(task.hints.get("page", 0))

        def follow(url: Any, kind: str, next_page: int) -> list[Task]:
            if not isinstance(url, str) or not url:
                return []
            url = urljoin(task.url, url)
            if not _same_host(url, base):
                ctx.unreachable(url, f"{target['label']}: points to another server: not followed")
                return []
            return [Task(url, kind, 0, task.url, {"target": target, "page": next_page})]

        if finger:
            links = [x for x in data.get("links") or [] if isinstance(x, dict) and x.get("rel") == "self"]
            actor = next((x.get("href") for x in links if "activity+json" in str(x.get("type"))), None)
            return follow(actor, "activitypub-actor", 0)
        if task.kind == "activitypub-actor":
            return follow(data.get("outbox"), "activitypub-outbox", 0)
        out: list[Task] = []
        first = data.get("first")
        if data.get("type") == "OrderedCollection":  # the collection: its first page
            if isinstance(first, dict):  # embedded
                data, page = first, 1
            else:
                return follow(first, "activitypub-outbox", 1)
        for activity in data.get("orderedItems") or []:
            obj = _obj(_obj(activity).get("object"))
            post_url = str(obj.get("url") or obj.get("id") or "")
            hints = _hints(post_url, target["label"], obj.get("published") or _obj(activity).get("published"))
            for att in obj.get("attachment") or []:
                att = _obj(att)
                url = att.get("url")
                if isinstance(url, list):  # a list of links: the first
                    url = _obj(url[0]).get("href") if url else None
                if str(att.get("mediaType", "")).startswith(("image/", "video/")) or att.get("type") in (
                    "Image",
                    "Video",
                ):
                    t = _media_task(url if isinstance(url, str) else None, post_url, hints)
                    if t:
                        out.append(t)
        if page < int(ctx.config.get("pages") or 10):
            out += follow(data.get("next"), "activitypub-outbox", page + 1)
        return out

    @classmethod
    def status_media(cls, status: dict[str, Any], target: dict[str, str]) -> list[Task]:
        if isinstance(status.get("reblog"), dict):  # a boost: the original post is what carries the media
            status = status["reblog"]
        account = _obj(status.get("account"))
        acct = account.get("acct")
        if isinstance(acct, str) and acct and "@" not in acct:
            acct = f"{acct}@{target['instance']}"
        post_url = str(status.get("url") or status.get("uri") or "")
        hints = _hints(post_url, f"@{acct}" if acct else None, status.get("created_at"))
        out = []
        for att in status.get("media_attachments") or []:
            if not isinstance(att, dict) or att.get("type") not in ("image", "gifv", "video"):
                continue
            t = _media_task(att.get("url") or att.get("remote_url"), post_url, hints)
            if t:
                out.append(t)
        return out


# --- Lemmy ----------------------------------------------------------------------------------------
_COMMUNITY = re.compile(r"!([A-Za-z0-9_]{1,100})@([A-Za-z0-9.-]+(?::\d+)?)")


@register
class LemmySource(_Connector):
    name = "lemmy"
    summary = "a Lemmy community's newest posts (!community@instance), from the Lemmy API v3"

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        m = _COMMUNITY.fullmatch(target)
        if not m:
            raise UnleakError(f"{clip(neutralize(target))!r} is not !community@instance", hint="e.g. !pics@lemmy.world")
        return {"label": f"!{m.group(1)}@{m.group(2)}", "name": m.group(1), "instance": m.group(2)}

    @classmethod
    def page_url(cls, config: dict[str, Any], target: dict[str, str], page: int, cursor: str | None) -> str:
        query = {"community_name": target["name"], "sort": "New", "limit": "50", "type_": "All"}
        query.update({"page_cursor": cursor} if cursor else {"page": str(page)})
        return f"{cls.base_for(config, target)}/api/v3/post/list?{urlencode(query)}"

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        return Task(cls.page_url(config, target, 1, None), "lemmy-page", hints={"target": target, "page": 1})

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        target, page = task.hints["target"], int(task.hints.get("page", 1))
        r = cls.get(ctx, task.url, target["label"])
        data = cls.load(ctx, r, target["label"]) if r else None
        if not isinstance(data, dict):
            return []
        base = cls.base_for(ctx.config, target)
        views = [v for v in data.get("posts") or [] if isinstance(v, dict)]
        out: list[Task] = []
        for view in views:
            out += cls.post_media(ctx, view, base)
        if views and page < int(ctx.config.get("pages") or 10):
            cursor = data.get("next_page")  # 0.19: a cursor; older servers: numbered pages
            nxt = cls.page_url(ctx.config, target, page + 1, cursor if isinstance(cursor, str) and cursor else None)
            out.append(Task(nxt, "lemmy-page", 0, task.url, {"target": target, "page": page + 1}))
        return out

    @classmethod
    def post_media(cls, ctx: TaskContext, view: dict[str, Any], base: str) -> list[Task]:
        post = _obj(view.get("post"))
        creator = _obj(view.get("creator"))
        post_url = str(post.get("ap_id") or f"{base}/post/{post.get('id')}")
        name = creator.get("name")
        host = urlsplit(str(creator.get("actor_id") or base)).netloc
        uploader = f"{name}@{host}" if isinstance(name, str) and name else None
        if post.get("deleted") or post.get("removed"):
            why = "deleted by its author" if post.get("deleted") else "removed by a moderator"
            ctx.unreachable(post_url, f"post {why}")
            return []
        if creator.get("banned") or view.get("creator_banned_from_community"):
            ctx.unreachable(
                post_url, f"{uploader or 'the uploader'} is banned; the post is still listed and is checked"
            )
        hints = _hints(post_url, uploader, post.get("published"))
        urls = []
        link = post.get("url")
        if isinstance(link, str) and (
            looks_like_media_url(link) or str(post.get("url_content_type", "")).startswith(("image/", "video/"))
        ):
            urls.append(link)
        if isinstance(post.get("thumbnail_url"), str):
            urls.append(post["thumbnail_url"])
        out = []
        for u in dict.fromkeys(urls):
            t = _media_task(u, post_url, hints)
            if t:
                out.append(t)
        return out


# --- Telegram -------------------------------------------------------------------------------------
_CHANNEL = re.compile(r"(?:https?://)?(?:t\.me/(?:s/)?|@)?([A-Za-z][A-Za-z0-9_]{3,31})/?")
_BG_URL = re.compile(r"background-image\s*:\s*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@register
class TelegramSource(_Connector):
    name = "telegram"
    summary = "a public Telegram channel's web preview (t.me/s/NAME), page by page"
    default_base = "https://t.me"

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        m = _CHANNEL.fullmatch(target)
        if not m:
            raise UnleakError(
                f"{clip(neutralize(target))!r} is not a channel name", hint="e.g. somechannel or t.me/somechannel"
            )
        return {"label": m.group(1), "name": m.group(1)}

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        url = f"{cls.base_for(config, target)}/s/{target['name']}"
        return Task(url, "telegram-page", hints={"target": target, "page": 1})

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        from selectolax.lexbor import LexborHTMLParser

        target, page = task.hints["target"], int(task.hints.get("page", 1))
        base = cls.base_for(ctx.config, target)
        r = cls.get(ctx, task.url, target["label"], json_body=False)
        if r is None:
            return []
        if f"/s/{target['name']}".lower() not in urlsplit(r.final_url).path.lower() or r.redirects:
            ctx.unreachable(task.url, f"{target['label']}: no public preview (a private channel, a person, or none)")
            return []
        tree = LexborHTMLParser(r.body.decode("utf-8", "replace"))
        messages = tree.css(".tgme_widget_message[data-post]")
        if not messages and page == 1:
            ctx.unreachable(task.url, f"{target['label']}: the preview shows no posts (a private channel, or none)")
            return []
        channel = tree.css_first(".tgme_channel_info_header_title")
        channel_name = channel.text(strip=True) if channel else target["name"]
        out: list[Task] = []
        for msg in messages:
            post_url = f"{base}/{msg.attributes.get('data-post') or ''}"
            author = msg.css_first(".tgme_widget_message_from_author") or msg.css_first(
                ".tgme_widget_message_owner_name"
            )
            who = author.text(strip=True) if author else channel_name
            stamp = msg.css_first(".tgme_widget_message_date time")
            hints = _hints(
                post_url, f"{who} (t.me/{target['name']})", stamp.attributes.get("datetime") if stamp else None
            )
            urls = []
            for node in msg.css(".tgme_widget_message_photo_wrap, .tgme_widget_message_video_thumb"):
                m = _BG_URL.search(node.attributes.get("style") or "")
                if m:
                    urls.append(urljoin(r.final_url, m.group(1)))
            for node in msg.css("video.tgme_widget_message_video"):
                if node.attributes.get("src"):
                    urls.append(urljoin(r.final_url, node.attributes["src"] or ""))
            if msg.css_first(".message_media_not_supported"):
                ctx.unreachable(post_url, "media not shown in the web preview (too large, or only in the app)")
            for u in dict.fromkeys(urls):
                t = _media_task(u, post_url, hints)
                if t:
                    out.append(t)
        more = tree.css_first("a.tme_messages_more[data-before]") or tree.css_first('link[rel="prev"]')
        href = more.attributes.get("href") if more else None
        if href and page < int(ctx.config.get("pages") or 10):
            nxt = urljoin(r.final_url, href)
            if _same_host(nxt, base) and "before=" in nxt:
                out.append(Task(nxt, "telegram-page", 0, task.url, {"target": target, "page": page + 1}))
        return out


# --- Forums ---------------------------------------------------------------------------------------
# A post's container, its author and its time, as phpBB, Discourse (its crawler view),
# vBulletin 3/4/5, XenForo and schema.org markup write them.
_POST = (
    "div.post.has-profile, div.post[id^=p], div.crawler-post, [itemprop=comment], li.postcontainer, "
    "li.b-post, article.message--post, [itemtype*=DiscussionForumPosting], [itemtype*='schema.org/Comment']"
)
_AUTHOR = (
    "[itemprop=author] [itemprop=name], .creator [itemprop=name], a.username, .username-coloured, "
    ".username, .b-post__author a, .message-name, [itemprop=author]"
)
_TIME = "time[datetime], [itemprop=datePublished], [itemprop=dateCreated], .postdate, span.date"
_NEXT = (
    'link[rel="next"], a[rel="next"], .pagination li.next a, .pagination .next a, li.arrow.next a, '
    "a.js-pagenav-next-button, .pagenav a[rel=next], a.pageNav-jump--next"
)


@register
class ForumSource(_Connector):
    name = "forum"
    summary = "a forum thread read page by page (phpBB, Discourse, vBulletin, XenForo): each post's media"
    options = (
        OptionSpec("api_base", str, "the forum's address, when the target is a path such as /t/123"),
        OptionSpec("pages", int, "thread pages to read per scan", default=50, min=1, max=5000),
    )

    @classmethod
    def parse_target(cls, target: str) -> dict[str, str]:
        return {"label": target, "url": target}

    @classmethod
    def configure(cls, targets: list[str], options: SourceOptions) -> dict[str, Any]:
        config = super().configure(targets, options)
        for p in config["parsed"]:
            url = p["url"]
            if url.startswith("/"):
                if not config.get("api_base"):
                    raise UnleakError(f"{clip(neutralize(url))!r} is a path", hint="give --api-base, or the full URL")
                url = config["api_base"] + url
            p["url"] = _base(url, "the thread") if urlsplit(url).path in ("", "/") else url
            _base(p["url"], "the thread")
            p["label"] = p["url"]
        config["targets"] = [p["label"] for p in config["parsed"]]
        return config

    @classmethod
    def first_task(cls, config: dict[str, Any], target: dict[str, str]) -> Task:
        return Task(target["url"], "forum-page", hints={"page": 1})

    @classmethod
    def handle(cls, ctx: TaskContext, task: Task) -> list[Task] | None:
        from selectolax.lexbor import LexborHTMLParser

        from unleak.net.html import parse_page

        page = int(task.hints.get("page", 1))
        r = cls.get(ctx, task.url, "the thread", json_body=False)
        if r is None:
            return []
        if r.sniffed != "html":
            ctx.unreachable(task.url, f"not a web page (the content is {r.sniffed})")
            return []
        tree = LexborHTMLParser(r.body.decode("utf-8", "replace"))
        out: list[Task] = []
        posts = tree.css(_POST)
        outer = [p for p in posts if not any(q.mem_id != p.mem_id and _contains(q, p) for q in posts)]
        if outer:
            for node in outer:
                out += cls.post_media(node, r.final_url, parse_page)
        else:  # no post markup known: the page as one post
            info = parse_page(r.body, r.final_url)
            hints = _hints(r.final_url, info.uploader, info.posted_at or info.posted_raw)
            out += [t for t in (_media_task(m.url, r.final_url, hints) for m in info.media) if t]
        nav = tree.css_first(_NEXT)
        href = nav.attributes.get("href") if nav else None
        if href and page < int(ctx.config.get("pages") or 50):
            nxt = urljoin(r.final_url, href)
            if not _same_host(nxt, r.final_url):
                ctx.unreachable(nxt, "the next page is on another host: not followed")
            elif nxt.split("#")[0] != r.final_url.split("#")[0]:
                out.append(Task(nxt, "forum-page", 0, task.url, {"page": page + 1}))
        return out

    @classmethod
    def post_media(cls, node: Any, page_url: str, parse_page: Any) -> list[Task]:
        author = node.css_first(_AUTHOR)
        stamp = node.css_first(_TIME)
        posted = (
            (stamp.attributes.get("datetime") or stamp.attributes.get("content") or stamp.text(strip=True))
            if stamp
            else None
        )
        anchor = node.attributes.get("id")
        post_url = f"{page_url.split('#')[0]}#{anchor}" if anchor else page_url
        hints = _hints(post_url, author.text(strip=True) if author else None, posted)
        info = parse_page((node.html or "").encode(), page_url)
        return [t for t in (_media_task(m.url, post_url, hints) for m in info.media) if t]


def _contains(outer: Any, inner: Any) -> bool:
    parent = inner.parent
    while parent is not None:
        if parent.mem_id == outer.mem_id:
            return True
        parent = parent.parent
    return False
