"""Grouping sightings into notice drafts: a pure function, checked without a database."""

from __future__ import annotations

from unleak.takedown.drafting import NoticeDraft, OpenDraft, SightingRef, group_sightings
from unleak.takedown.hosts import HostDirectory, HostEntry

DEPICTED = {"depicted_person"}
OWNER = {"copyright_owner"}


def directory() -> HostDirectory:
    return HostDirectory(
        [
            HostEntry("tube", "Tube Inc.", domains=["tube.example", "tubecdn.example"]),
            HostEntry("cdn-op", "CDN Operator", domains=["cdn.example"]),
            HostEntry("finder", "Finder Search", kind="search", domains=["finder.example"], default_delisting=True),
            HostEntry("other-engine", "Not by default", kind="search", domains=["other.example"]),
        ]
    )


def sg(i: int, page: str | None, media: str | None, item: int = 1) -> SightingRef:
    return SightingRef(i, page, media, item)


def by_key(drafts: list[NoticeDraft]) -> dict[tuple[str, str], NoticeDraft]:
    out = {(d.target.key, d.basis): d for d in drafts}
    assert len(out) == len(drafts), "one draft per (target, basis)"
    return out


def urls(d: NoticeDraft) -> list[str]:
    return [it.url for it in d.new_items]


def test_one_notice_per_operator_with_page_and_media_urls_once():
    sightings = [
        sg(1, "https://forum.example/t/1", "https://forum.example/m/1.jpg"),
        sg(2, "https://www.forum.example/t/2", "https://forum.example/m/2.jpg"),
        # Page and media at two domains of the same operator: one notice, not two.
        sg(3, "https://tube.example/v/3", "https://tubecdn.example/3.mp4"),
    ]
    drafts = by_key(group_sightings(sightings, directory(), roles=DEPICTED, search=False))
    assert list(drafts) == [("forum.example", "take-it-down"), ("tube", "take-it-down")]
    forum = drafts["forum.example", "take-it-down"]
    assert [s.id for s in forum.sightings] == [1, 2] and forum.extends is None
    assert urls(forum) == [
        "https://forum.example/t/1",
        "https://forum.example/m/1.jpg",
        "https://www.forum.example/t/2",
        "https://forum.example/m/2.jpg",
    ]
    tube = drafts["tube", "take-it-down"]
    assert tube.target.name == "Tube Inc." and urls(tube) == [
        "https://tube.example/v/3",
        "https://tubecdn.example/3.mp4",
    ]


def test_page_and_media_at_different_operators_notify_both_with_both_urls():
    [page_op, media_op] = group_sightings(
        [sg(1, "https://forum.example/t/1", "https://cdn.example/x/1.jpg")], directory(), roles=DEPICTED, search=False
    )
    assert (page_op.target.key, media_op.target.key) == ("forum.example", "cdn-op")
    assert page_op.target.domain == "forum.example" and media_op.target.domain == "cdn.example"
    # Each operator is told where the copy is shown and where the file is.
    assert urls(page_op) == urls(media_op) == ["https://forum.example/t/1", "https://cdn.example/x/1.jpg"]
    # Contact discovery starts from the page where the copy was seen, for both.
    assert page_op.target.page_url == media_op.target.page_url == "https://forum.example/t/1"


def test_two_sightings_on_one_page_list_the_page_once():
    page = "https://forum.example/t/1"
    [d] = group_sightings(
        [sg(1, page, "https://forum.example/a.jpg", 1), sg(2, page, "https://forum.example/b.jpg", 2)],
        directory(),
        roles=DEPICTED,
        search=False,
    )
    assert urls(d) == [page, "https://forum.example/a.jpg", "https://forum.example/b.jpg"]
    assert [(it.url, it.sighting_id, it.bank_item_id) for it in d.new_items][2] == ("https://forum.example/b.jpg", 2, 2)


def test_search_engines_get_every_sighting_under_the_search_basis():
    sightings = [
        sg(1, "https://forum.example/t/1", "https://forum.example/m/1.jpg"),
        sg(2, "https://tube.example/v/3", "https://tubecdn.example/3.mp4"),
    ]
    drafts = by_key(group_sightings(sightings, directory(), roles=DEPICTED))
    # Only default engines, and the NCII delisting basis for a depicted person.
    assert set(drafts) == {
        ("forum.example", "take-it-down"),
        ("tube", "take-it-down"),
        ("finder", "search-delisting"),
    }
    finder = drafts["finder", "search-delisting"]
    assert finder.target.kind == "search" and finder.target.domain == "finder.example"
    assert [s.id for s in finder.sightings] == [1, 2] and len(finder.new_items) == 4
    # A copy owner gets DMCA notices and §512(d) requests instead.
    owner = by_key(group_sightings(sightings, directory(), roles=OWNER))
    assert set(owner) == {("forum.example", "dmca"), ("tube", "dmca"), ("finder", "dmca-512d")}


def test_each_basis_given_is_its_own_notice_and_goes_only_where_it_applies():
    sightings = [sg(1, "https://forum.example/t/1", "https://forum.example/m/1.jpg")]
    drafts = by_key(group_sightings(sightings, directory(), roles=DEPICTED, bases=["take-it-down", "uk-osa"]))
    # take-it-down is for hosts only; the UK OSA reaches hosts and search services.
    assert set(drafts) == {("forum.example", "take-it-down"), ("forum.example", "uk-osa"), ("finder", "uk-osa")}
    assert urls(drafts["forum.example", "take-it-down"]) == urls(drafts["forum.example", "uk-osa"])


def test_a_copy_on_a_search_engines_own_domain_is_not_a_host_notice():
    drafts = group_sightings(
        [sg(1, "https://finder.example/cache/1", "https://finder.example/cache/1.jpg")],
        directory(),
        roles=DEPICTED,
        search=False,
    )
    assert drafts == []


def test_covered_sightings_are_left_out_and_a_fully_covered_group_yields_nothing():
    sightings = [
        sg(1, "https://forum.example/t/1", "https://forum.example/m/1.jpg"),
        sg(2, "https://forum.example/t/2", "https://forum.example/m/2.jpg"),
        sg(3, "https://tube.example/v/3", "https://tube.example/3.mp4"),
    ]
    covered = {(1, "forum.example", "take-it-down"), (3, "tube", "take-it-down"), (3, "finder", "search-delisting")}
    drafts = by_key(group_sightings(sightings, directory(), roles=DEPICTED, covered=covered))
    assert set(drafts) == {("forum.example", "take-it-down"), ("finder", "search-delisting")}
    assert [s.id for s in drafts["forum.example", "take-it-down"].sightings] == [2]
    # Covered for one target and basis is not covered for another.
    assert [s.id for s in drafts["finder", "search-delisting"].sightings] == [1, 2]


def test_new_urls_extend_the_latest_open_draft_without_repeating_a_url():
    page = "https://forum.example/t/1"
    open_drafts = [
        OpenDraft(4, "forum.example", "take-it-down", (page, "https://forum.example/m/1.jpg")),
        OpenDraft(7, "forum.example", "take-it-down", (page, "https://forum.example/m/1.jpg")),
        OpenDraft(9, "forum.example", "dmca", ()),  # another basis: not this notice
    ]
    [d] = group_sightings(
        [sg(2, page, "https://forum.example/m/2.jpg")],
        directory(),
        roles=DEPICTED,
        search=False,
        open_drafts=open_drafts,
    )
    assert d.extends == 7 and urls(d) == ["https://forum.example/m/2.jpg"]


def test_an_open_draft_that_already_lists_every_url_gains_nothing():
    page, media = "https://forum.example/t/1", "https://forum.example/m/1.jpg"
    [d] = group_sightings(
        [sg(5, page, media)],
        directory(),
        roles=DEPICTED,
        search=False,
        open_drafts=[OpenDraft(3, "forum.example", "take-it-down", (page, media))],
    )
    assert d.extends == 3 and d.new_items == () and [s.id for s in d.sightings] == [5]


def test_follow_ups_stay_apart_from_first_notices():
    page = "https://forum.example/t/9"
    first = OpenDraft(3, "forum.example", "take-it-down", ("https://forum.example/t/1",))
    # A re-upload of what notice #2 reported: a new follow-up notice, not an extension of draft #3.
    [d] = group_sightings(
        [sg(8, page, "https://forum.example/m/9.jpg")],
        directory(),
        roles=DEPICTED,
        search=False,
        open_drafts=[first],
        follows={8: 2},
    )
    assert d.extends is None and d.follows_id == 2
    # An open follow-up draft for the same earlier notice is extended.
    followup = OpenDraft(5, "forum.example", "take-it-down", (page,), follows_id=2)
    [d] = group_sightings(
        [sg(8, page, "https://forum.example/m/9.jpg")],
        directory(),
        roles=DEPICTED,
        search=False,
        open_drafts=[first, followup],
        follows={8: 2},
    )
    assert d.extends == 5 and d.follows_id == 2 and urls(d) == ["https://forum.example/m/9.jpg"]
    # Drafting first notices never extends a follow-up draft.
    [d] = group_sightings(
        [sg(10, "https://forum.example/t/10", "https://forum.example/m/10.jpg")],
        directory(),
        roles=DEPICTED,
        search=False,
        open_drafts=[followup],
    )
    assert d.extends is None and d.follows_id is None
