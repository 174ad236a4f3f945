"""A local server answering as Reddit, Bluesky, Mastodon, Lemmy, Telegram's web preview and three
forum engines do, with planted copies of protected photos. The answers follow each platform's
public documentation (field names, pagination, error bodies); only what a connector reads is kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from unleak.demo.site import Route, SiteServer, altered_copy, jpeg

JSON = "application/json; charset=utf-8"
TOKEN = "sekrit-token-0123456789"


def _post_view(base: str, rkey: str, handle: str, when: str, embed: dict) -> dict:
    """app.bsky.feed.defs#postView."""
    did = f"did:plc:{handle.split('.')[0]}"
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": "bafyrei" + rkey,
        "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0].title()},
        "record": {"$type": "app.bsky.feed.post", "text": "", "createdAt": when},
        "embed": embed,
        "indexedAt": when,
    }


def _images(base: str, *names: str) -> dict:
    return {
        "$type": "app.bsky.embed.images#view",
        "images": [{"thumb": f"{base}/media/{n}", "fullsize": f"{base}/media/{n}", "alt": ""} for n in names],
    }


def _status(base: str, sid: str, acct: str, when: str, media: list[str], reblog: dict | None = None) -> dict:
    """A Mastodon Status entity."""
    user = acct.split("@")[0]
    return {
        "id": sid,
        "created_at": when,
        "url": f"{base}/@{acct}/{sid}",
        "uri": f"{base}/users/{user}/statuses/{sid}",
        "account": {"id": "1" + sid, "username": user, "acct": acct, "url": f"{base}/@{acct}"},
        "media_attachments": [
            {"id": sid + str(i), "type": "image", "url": f"{base}/media/{m}", "preview_url": f"{base}/media/{m}"}
            for i, m in enumerate(media)
        ],
        "reblog": reblog,
        "sensitive": False,
    }


def _lemmy_view(base: str, pid: int, creator: str, when: str, url: str | None, **flags) -> dict:
    """A Lemmy PostView."""
    return {
        "post": {
            "id": pid,
            "name": f"post {pid}",
            "url": url,
            "thumbnail_url": None,
            "published": when,
            "ap_id": f"{base}/post/{pid}",
            "deleted": flags.get("deleted", False),
            "removed": flags.get("removed", False),
        },
        "creator": {
            "id": pid * 10,
            "name": creator,
            "actor_id": f"{base}/u/{creator}",
            "banned": flags.get("banned", False),
        },
        "community": {"id": 3, "name": "pics", "actor_id": f"{base}/c/pics"},
        "counts": {"score": 1, "comments": 0},
        "creator_banned_from_community": False,
    }


class PlatformSite:
    """Serves /media/a.jpg, b.jpg, c.jpg (altered copies of the three protected photos) and
    /media/other.jpg (an unrelated photo), and every platform's endpoints below."""

    def __init__(self, protected: list[Path], other: Path) -> None:
        self.server = SiteServer(self._answer)
        self.base = self.server.base
        self.media = {n: altered_copy(p, i, 384)[1] for i, (n, p) in enumerate(zip("abc", protected, strict=True))}
        from PIL import Image

        im = Image.open(other).convert("RGB")
        im.thumbnail((384, 384))
        self.media["other"] = jpeg(im)
        self.hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.routes: dict[str, Callable[[dict[str, list[str]]], Route]] = {}
        self._build()

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> PlatformSite:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def requested(self, path: str) -> int:
        return len(self.hits.get(path, []))

    def _answer(self, raw: str) -> Route | None:
        parts = urlsplit(raw)
        key = parts.path + ("?" + parts.query if parts.query else "")
        with self._lock:
            self.hits.setdefault(key, []).append(time.monotonic())
            self.hits.setdefault(parts.path, []).append(time.monotonic())
        if parts.path.startswith("/media/"):
            name = parts.path.removeprefix("/media/").removesuffix(".jpg")
            return Route(self.media[name], "image/jpeg") if name in self.media else None
        handler = self.routes.get(parts.path)
        return handler(parse_qs(parts.query)) if handler else None

    def _json(self, data, status: int = 200, headers: dict[str, str] | None = None) -> Route:
        return Route(json.dumps(data).encode(), JSON, status, headers or {})

    def _build(self) -> None:
        b, r = self.base, self.routes
        once: dict[str, bool] = {}

        # --- Reddit: Listing JSON, `after` pagination, rate-limit headers, 403 private, 404 banned
        def reddit_leaks(q):
            after = q.get("after", [None])[0]
            if after is None:
                children = [
                    {
                        "kind": "t3",
                        "data": {
                            "id": "p1",
                            "name": "t3_p1",
                            "author": "alice",
                            "created_utc": 1767225600.0,
                            "permalink": "/r/leaks/comments/p1/one/",
                            "url": f"{b}/media/a.jpg",
                            "removed_by_category": None,
                        },
                    },
                    {
                        "kind": "t3",
                        "data": {
                            "id": "p2",
                            "name": "t3_p2",
                            "author": "[deleted]",
                            "created_utc": 1767225700.0,
                            "permalink": "/r/leaks/comments/p2/two/",
                            "url": f"{b}/media/other.jpg",
                            "removed_by_category": "deleted",
                        },
                    },
                    {
                        "kind": "t3",
                        "data": {
                            "id": "p3",
                            "name": "t3_p3",
                            "author": "bob",
                            "created_utc": 1767225800.0,
                            "permalink": "/r/leaks/comments/p3/three/",
                            "url": f"{b}/gallery/p3",
                            "is_gallery": True,
                            "media_metadata": {
                                "x1": {
                                    "status": "valid",
                                    "e": "Image",
                                    "m": "image/jpg",
                                    "s": {"u": f"{b}/media/b.jpg", "x": 384, "y": 288},
                                }
                            },
                        },
                    },
                ]
                return self._json(
                    {"kind": "Listing", "data": {"after": "t3_p3", "dist": 3, "children": children, "before": None}},
                    headers={"x-ratelimit-used": "1", "x-ratelimit-remaining": "99", "x-ratelimit-reset": "500"},
                )
            if not once.get("reddit429"):  # the second page is rate-limited once
                once["reddit429"] = True
                return self._json({"message": "Too Many Requests", "error": 429}, 429, {"Retry-After": "1"})
            children = [
                {
                    "kind": "t3",
                    "data": {
                        "id": "p4",
                        "name": "t3_p4",
                        "author": "carol",
                        "created_utc": 1767225900.0,
                        "permalink": "/r/leaks/comments/p4/four/",
                        "url": "https://example.com/article",
                        "preview": {"images": [{"source": {"url": f"{b}/media/c.jpg", "width": 384, "height": 288}}]},
                    },
                },
            ]
            return self._json(
                {"kind": "Listing", "data": {"after": None, "dist": 1, "children": children, "before": None}}
            )

        def reddit_spent(reset: str):
            def answer(q):
                if "after" in q:
                    return self._json({"kind": "Listing", "data": {"after": None, "children": []}})
                data = {"kind": "Listing", "data": {"after": "t3_z", "children": []}}
                return self._json(data, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})

            return answer

        r["/r/slow/new.json"] = reddit_spent("1")
        r["/r/spent/new.json"] = reddit_spent("900")
        r["/r/leaks/new.json"] = reddit_leaks
        r["/r/closed/new.json"] = lambda q: self._json({"reason": "private", "message": "Forbidden", "error": 403}, 403)
        r["/r/gone/new.json"] = lambda q: self._json({"reason": "banned", "message": "Not Found", "error": 404}, 404)

        def reddit_user(q):
            return self._json(
                {
                    "kind": "Listing",
                    "data": {
                        "after": None,
                        "children": [
                            {
                                "kind": "t3",
                                "data": {
                                    "id": "u1",
                                    "author": "alice",
                                    "created_utc": 1767226000.0,
                                    "permalink": "/user/alice/comments/u1/",
                                    "url": f"{b}/media/a.jpg",
                                },
                            }
                        ],
                    },
                }
            )

        r["/user/alice/submitted.json"] = reddit_user

        # --- Bluesky: getAuthorFeed (cursor), searchPosts, notFoundPost in a reply, AccountTakedown
        def author_feed(q):
            actor = q.get("actor", [""])[0]
            if actor == "banned.example":
                return self._json({"error": "AccountTakedown", "message": "Account has been suspended"}, 400)
            if actor != "dana.example":
                return self._json({"error": "InvalidRequest", "message": "Profile not found"}, 400)
            if "cursor" not in q:
                gone = {
                    "$type": "app.bsky.feed.defs#notFoundPost",
                    "uri": "at://did:plc:x/app.bsky.feed.post/gone1",
                    "notFound": True,
                }
                return self._json(
                    {
                        "cursor": "2026-01-01T00:00:00.000Z",
                        "feed": [
                            {
                                "post": _post_view(
                                    b,
                                    "r1",
                                    "dana.example",
                                    "2026-01-02T10:00:00.000Z",
                                    _images(b, "a.jpg", "other.jpg"),
                                )
                            },
                            {
                                "post": _post_view(
                                    b, "r2", "dana.example", "2026-01-02T11:00:00.000Z", _images(b, "other.jpg")
                                ),
                                "reply": {"parent": gone, "root": gone},
                            },
                        ],
                    }
                )
            quote = {
                "$type": "app.bsky.embed.recordWithMedia#view",
                "record": {"record": {}},
                "media": _images(b, "b.jpg"),
            }
            return self._json(
                {"feed": [{"post": _post_view(b, "r3", "dana.example", "2026-01-01T09:00:00.000Z", quote)}]}
            )

        r["/xrpc/app.bsky.feed.getAuthorFeed"] = author_feed
        r["/xrpc/app.bsky.feed.searchPosts"] = lambda q: self._json(
            {
                "hitsTotal": 1,
                "posts": [_post_view(b, "s1", "eve.example", "2026-01-03T08:00:00.000Z", _images(b, "c.jpg"))],
            }
        )

        # --- Mastodon API: lookup, account statuses (Link pagination), tag timeline, 404, suspended
        def lookup(q):
            acct = q.get("acct", [""])[0]
            if acct == "frank":
                return self._json({"id": "109", "username": "frank", "acct": "frank", "locked": False})
            if acct == "sus":
                return self._json({"id": "110", "username": "sus", "acct": "sus", "suspended": True})
            return self._json({"error": "Record not found"}, 404)

        def statuses(q):
            if "max_id" not in q:
                boosted = _status(b, "90", "gina@other.example", "2026-01-04T07:00:00.000Z", ["b.jpg"])
                page = [
                    _status(b, "101", "frank", "2026-01-05T07:00:00.000Z", ["a.jpg"]),
                    _status(b, "100", "frank", "2026-01-04T08:00:00.000Z", [], reblog=boosted),
                ]
                link = (
                    f'<{b}/api/v1/accounts/109/statuses?limit=40&only_media=true&max_id=100>; rel="next", '
                    f'<{b}/api/v1/accounts/109/statuses?limit=40&only_media=true&min_id=101>; rel="prev"'
                )
                return self._json(page, headers={"Link": link})
            return self._json([_status(b, "99", "frank", "2026-01-03T07:00:00.000Z", ["other.jpg"])])

        # ActivityPub: WebFinger, the actor, its outbox (OrderedCollection, pages by `next`)
        def webfinger(q):
            if q.get("resource") != ["acct:frank@social.example"]:
                return self._json({"error": "not found"}, 404)
            links = [{"rel": "self", "type": "application/activity+json", "href": f"{b}/users/frank"}]
            return self._json({"subject": "acct:frank@social.example", "links": links})

        def note(nid: str, img: str) -> dict:
            attachment = [{"type": "Document", "mediaType": "image/jpeg", "url": f"{b}/media/{img}", "name": None}]
            obj = {
                "id": f"{b}/users/frank/statuses/{nid}",
                "type": "Note",
                "url": f"{b}/@frank/{nid}",
                "published": "2026-01-05T07:00:00Z",
                "attributedTo": f"{b}/users/frank",
                "attachment": attachment,
            }
            return {"id": obj["id"] + "/activity", "type": "Create", "actor": f"{b}/users/frank", "object": obj}

        def outbox(q):
            ctype = "application/activity+json"
            if q.get("page") == ["true"]:
                page = {
                    "type": "OrderedCollectionPage",
                    "next": f"{b}/users/frank/outbox?page=true&max_id=1",
                    "orderedItems": [note("3", "a.jpg")],
                }
                if "max_id" in q:
                    page = {"type": "OrderedCollectionPage", "orderedItems": [note("1", "c.jpg")]}
                return Route(json.dumps(page).encode(), ctype)
            coll = {"type": "OrderedCollection", "totalItems": 2, "first": f"{b}/users/frank/outbox?page=true"}
            return Route(json.dumps(coll).encode(), ctype)

        r["/.well-known/webfinger"] = webfinger
        r["/users/frank"] = lambda q: Route(
            json.dumps({"type": "Person", "id": f"{b}/users/frank", "outbox": f"{b}/users/frank/outbox"}).encode(),
            "application/activity+json",
        )
        r["/users/frank/outbox"] = outbox
        r["/api/v1/accounts/lookup"] = lookup
        r["/api/v1/accounts/109/statuses"] = statuses
        r["/api/v1/timelines/tag/beach"] = lambda q: self._json(
            [_status(b, "200", "hana@third.example", "2026-01-06T07:00:00.000Z", ["c.jpg"])]
        )

        # --- Lemmy: post/list with page_cursor/next_page, deleted and removed posts, unknown community, 429
        def lemmy_list(q):
            name = q.get("community_name", [""])[0]
            if name == "busy":
                return self._json({"error": "rate_limit_error"}, 429, {"Retry-After": "1"})
            if name != "pics":
                return self._json({"error": "couldnt_find_community"}, 404)
            cursor = q.get("page_cursor", [None])[0]
            if cursor is None:
                return self._json(
                    {
                        "posts": [
                            _lemmy_view(b, 1, "ivan", "2026-01-07T07:00:00.000000Z", f"{b}/media/a.jpg"),
                            _lemmy_view(b, 2, "ivan", "2026-01-07T08:00:00.000000Z", "", deleted=True),
                            _lemmy_view(b, 3, "jo", "2026-01-07T09:00:00.000000Z", f"{b}/media/b.jpg", banned=True),
                        ],
                        "next_page": "Pa3",
                    }
                )
            if cursor == "Pa3":
                return self._json(
                    {
                        "posts": [_lemmy_view(b, 4, "kim", "2026-01-06T07:00:00.000000Z", f"{b}/media/c.jpg")],
                        "next_page": "Pa4",
                    }
                )
            return self._json({"posts": [], "next_page": None})

        r["/api/v3/post/list"] = lemmy_list

        # --- Telegram web preview: t.me/s/NAME, ?before= paging; a private channel redirects to t.me/NAME
        def message(n: int, style_url: str | None, author: str | None = None, unsupported: bool = False) -> str:
            media = ""
            if style_url:
                media = f'<a class="tgme_widget_message_photo_wrap" href="{b}/leakchan/{n}" style="width:384px;background-image:url(\'{style_url}\')"></a>'
            if unsupported:
                media = '<div class="message_media_not_supported_wrap"><div class="message_media_not_supported">Please open Telegram to view this post</div></div>'
            who = f'<span class="tgme_widget_message_from_author">{author}</span>' if author else ""
            return (
                f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
                f'data-post="leakchan/{n}"><div class="tgme_widget_message_bubble"><div class="tgme_widget_message_author">'
                f'<a class="tgme_widget_message_owner_name" href="{b}/leakchan"><span dir="auto">Leak Chan</span></a>{who}</div>{media}'
                f'<div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" href="{b}/leakchan/{n}">'
                f'<time datetime="2026-01-0{n % 9 + 1}T12:00:00+00:00" class="time">12:00</time></a></div></div></div></div>'
            )

        def tg_page(q):
            head = (
                "<!DOCTYPE html><html><head><title>Leak Chan – Telegram</title>"
                '<link rel="canonical" href="/s/leakchan"></head><body><div class="tgme_channel_info">'
                '<div class="tgme_channel_info_header_title"><span dir="auto">Leak Chan</span></div></div><section class="tgme_channel_history js-message_history">'
            )
            if "before" not in q:
                body = (
                    head
                    + '<div class="tme_messages_more_wrap"><a href="/s/leakchan?before=11" class="tme_messages_more js-messages_more" data-before="11"></a></div>'
                    + message(11, f"{b}/media/a.jpg")
                    + message(12, f"{b}/media/other.jpg", author="Mod Person")
                    + message(13, None, unsupported=True)
                    + "</section></body></html>"
                )
                return Route(
                    body.encode(), "text/html; charset=utf-8", 200, {"Link": '</s/leakchan?before=11>; rel="prev"'}
                )
            if q["before"] == ["11"]:
                body = head + message(8, f"{b}/media/b.jpg", author="Poster Two") + "</section></body></html>"
                return Route(body.encode())
            return Route(b"<html><body></body></html>")

        r["/s/leakchan"] = tg_page
        r["/s/privchan"] = lambda q: Route(b"", status=302, headers={"Location": f"{b}/privchan"})
        r["/privchan"] = lambda q: Route(b"<html><body><div class='tgme_page'>Private</div></body></html>")

        # --- Forums: phpBB (pagination markup), Discourse crawler view (rel=next), vBulletin 4
        def phpbb(q):
            start = q.get("start", ["0"])[0]
            if start == "0":
                posts = (
                    '<div id="p11" class="post has-profile bg2"><div class="inner"><dl class="postprofile"><dt>'
                    '<a href="./memberlist.php?u=2" class="username">liam</a></dt></dl><div class="postbody"><p class="author">'
                    '<time datetime="2026-01-08T10:00:00+00:00">Thu Jan 08, 2026 10:00 am</time></p>'
                    f'<div class="content">look <img src="{b}/media/a.jpg" class="postimage" alt="Image"></div></div></div></div>'
                    '<div id="p12" class="post has-profile bg1"><div class="inner"><dl class="postprofile"><dt>'
                    '<a href="./memberlist.php?u=3" class="username-coloured" style="color:#A00">mia</a></dt></dl><div class="postbody">'
                    '<p class="author"><time datetime="2026-01-08T11:00:00+00:00">Thu</time></p>'
                    f'<div class="content"><img src="{b}/media/other.jpg" class="postimage"></div></div></div></div>'
                )
                nav = (
                    '<div class="pagination">2 posts &bull; <ul><li class="active"><span>1</span></li>'
                    '<li><a class="button" href="./viewtopic.php?t=7&amp;start=10" role="button">2</a></li>'
                    '<li><a class="button" href="./viewtopic.php?t=7&amp;start=20" role="button">3</a></li>'
                    '<li class="arrow next"><a class="button button-icon-only" href="./viewtopic.php?t=7&amp;start=10" role="button">'
                    '<span class="sr-only">Next</span></a></li></ul></div>'
                )
                return Route(f"<!DOCTYPE html><html><body>{nav}{posts}</body></html>".encode())
            if start == "10":
                posts = (
                    '<div id="p13" class="post has-profile bg2"><div class="inner"><dl class="postprofile"><dt>'
                    '<a href="./memberlist.php?u=4" class="username">noor</a></dt></dl><div class="postbody"><p class="author">'
                    '<time datetime="2026-01-09T10:00:00+00:00">Fri</time></p>'
                    f'<div class="content"><img src="{b}/media/b.jpg" class="postimage"></div></div></div></div>'
                )
                return Route(f"<!DOCTYPE html><html><body>{posts}</body></html>".encode())
            return Route(b"<!DOCTYPE html><html><body>page three</body></html>")

        def discourse(q):
            page = q.get("page", ["1"])[0]
            head = "<!DOCTYPE html><html><head><title>A topic</title>"
            if page == "1":
                head += '<link rel="next" href="/t/a-topic/9?page=2">'
                img = "c.jpg"
            else:
                head += '<link rel="prev" href="/t/a-topic/9">'
                img = "other.jpg"
            post = (
                f'<div id="post_{page}" itemprop="comment" itemscope itemtype="http://schema.org/Comment" class="topic-body crawler-post">'
                '<div class="crawler-post-meta"><span class="creator" itemprop="author" itemscope itemtype="http://schema.org/Person">'
                f'<a itemprop="url" href="/u/oscar"><span itemprop="name">oscar</span></a></span>'
                f'<span class="crawler-post-infos"><time itemprop="datePublished" datetime="2026-01-10T10:00:00Z" class="post-time">Jan 10</time></span></div>'
                f'<div class="post" itemprop="text"><p><img src="{b}/media/{img}" width="384" height="288"></p></div></div>'
            )
            return Route(f"{head}</head><body>{post}</body></html>".encode())

        def vbulletin(q):
            posts = (
                '<ol id="posts" class="posts"><li class="postbitlegacy postbitim postcontainer" id="post_501">'
                '<div class="posthead"><span class="postdate old"><span class="date">01-11-2026,&nbsp;<span class="time">10:00 AM</span></span></span></div>'
                '<div class="postdetails"><div class="userinfo"><a class="username offline popupctrl" href="member.php?u=5"><strong>pat</strong></a></div>'
                f'<div class="postbody"><blockquote class="postcontent restore"><img src="{b}/media/other.jpg" border="0" alt=""></blockquote></div></div></li></ol>'
            )
            return Route(f"<!DOCTYPE html><html><body>{posts}</body></html>".encode())

        def xenforo(page: int):
            def answer(q):
                who, img = ("quinn", "other.jpg") if page == 1 else ("sam", "a.jpg")
                post = (
                    f'<article class="message message--post js-post" data-author="{who}" id="js-post-7{page}">'
                    '<div class="message-inner"><div class="message-cell message-cell--user">'
                    f'<h4 class="message-name"><a href="/members/{who}.5/" class="username">{who}</a></h4></div>'
                    '<div class="message-cell message-cell--main"><header class="message-attribution">'
                    f'<a href="/threads/x.9/post-7{page}"><time class="u-dt" datetime="2026-01-12T10:00:00+0000">Jan 12</time></a>'
                    '</header><div class="message-content"><article class="message-body"><div class="bbWrapper">'
                    f'<img src="{b}/media/{img}" class="bbImage"></div></article></div></div></div></article>'
                )
                nav = (
                    '<div class="pageNav"><a href="/threads/x.9/page-2" class="pageNav-jump pageNav-jump--next">Next</a></div>'
                    if page == 1
                    else ""
                )
                return Route(f"<!DOCTYPE html><html><body>{post}{nav}</body></html>".encode())

            return answer

        def vbulletin5(q):
            post = (
                '<li class="b-post js-post" data-node-id="601" itemscope itemtype="http://schema.org/Comment">'
                '<div class="b-post__userinfo"><div class="author"><strong><a href="/member/7-rae" itemprop="author">rae</a>'
                '</strong></div></div><div class="b-post__body"><div class="b-post__timestamp">'
                '<time itemprop="dateCreated" datetime="2026-01-13T10:00:00">Jan 13</time></div>'
                f'<div class="js-post__content-text restore" itemprop="text"><img src="{b}/media/b.jpg"></div></div></li>'
            )
            return Route(f"<!DOCTYPE html><html><body><ul>{post}</ul></body></html>".encode())

        r["/threads/x.9/"] = xenforo(1)
        r["/threads/x.9/page-2"] = xenforo(2)
        r["/forum/x/a-thread"] = vbulletin5
        r["/viewtopic.php"] = phpbb
        r["/t/a-topic/9"] = discourse
        r["/showthread.php"] = vbulletin
