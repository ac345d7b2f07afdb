"""Nurture lists as HubSpot v3 MANUAL lists: found or created by name once per run, members by record id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hubspot.crm.lists import ListCreateRequest

from connectors.crm.hubspot.client import HubSpotBadRequest, HubSpotClient

CONTACTS = "0-1"
# Record ids per PUT /crm/v3/lists/{listId}/memberships/add (and /remove). HubSpot's v3 reference
# (https://developers.hubspot.com/docs/api-reference/legacy/crm/lists/memberships/add-to-list and the
# 2026-03 version) documents no per-request maximum; the only published one for adding records to a
# list is 500 per request (https://legacydocs.hubspot.com/docs/methods/lists/add_contact_to_list,
# v1 "Up to 500 records can be added to a list in a single request"). We stay at that documented figure
# rather than the batch endpoints' 100; the emulator enforces the same limit.
MEMBERSHIP_CHUNK = 500
READ_PAGE = 250


class HubSpotLists:
    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}
        self._absent: set[str] = set()  # looked up this run and not there: create without asking again
        self._members: dict[str, set[str]] = {}

    def _get(self, name: str) -> str | None:
        """The list's id; None when HubSpot has no such list. Other 4xx answers propagate."""
        try:
            found = self.client.call(lambda: self.client.lists.get_by_name(name, CONTACTS))
        except HubSpotBadRequest as exc:
            if exc.status != 404:
                raise
            return None
        return str(found.list.list_id)

    def list_id(self, name: str, create: bool = True) -> str | None:
        """The list's id, looked up at most once per run (and created at most once); None if unusable."""
        if name in self._ids:
            return self._ids[name]
        try:
            list_id = None if name in self._absent else self._get(name)
            if list_id is None and not create:
                self._absent.add(name)
                return None
            if list_id is None:
                list_id = self._create(name)
        except HubSpotBadRequest:
            return None  # e.g. a list name HubSpot refuses: memberships are skipped, contacts still written
        self._absent.discard(name)
        self._ids[name] = list_id
        return list_id

    def _create(self, name: str) -> str:
        try:
            made = self.client.call(lambda: self.client.lists.create(ListCreateRequest(
                name=name, object_type_id=CONTACTS, processing_type="MANUAL")))
            return str(made.list.list_id)
        except HubSpotBadRequest:
            existing = self._get(name)  # created meanwhile by another run
            if existing is None:
                raise
            return existing

    def _page(self, list_id: str, after: str | None) -> Any:
        return self.client.call(lambda: self.client.memberships.get_page(list_id, after=after, limit=READ_PAGE))

    def _send(self, method: Any, list_id: str, ids: list[str]) -> None:
        self.client.call(lambda: method(list_id, ids))

    def members(self, name: str) -> set[str]:
        """Record ids in the list, read once per run (one paged read per list, not one call per contact)."""
        if name in self._members:
            return self._members[name]
        list_id = self.list_id(name, create=False)
        members: set[str] = set()  # a list that does not exist yet has no members
        after: str | None = None
        while list_id is not None:
            page = self._page(list_id, after)
            members |= {str(m.record_id) for m in page.results}
            after = page.paging.next.after if page.paging and page.paging.next else None
            if after is None:
                break
        self._members[name] = members
        return members

    def change(self, name: str, add: Iterable[str], remove: Iterable[str]) -> None:
        list_id = self.list_id(name)
        if list_id is None:
            return
        known = self.members(name)
        for ids, op in ((sorted(set(add) - known), "add"), (sorted(set(remove) & known), "remove")):
            for start in range(0, len(ids), MEMBERSHIP_CHUNK):
                chunk = ids[start:start + MEMBERSHIP_CHUNK]
                method = self.client.memberships.add if op == "add" else self.client.memberships.remove
                self._send(method, list_id, chunk)
                if op == "add":
                    known.update(chunk)
                else:
                    known.difference_update(chunk)
