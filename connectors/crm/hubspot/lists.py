"""Nurture lists as HubSpot v3 MANUAL lists: found or created by name once per run, members by record id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hubspot.crm.lists import ListCreateRequest

from connectors.crm.hubspot.client import HubSpotBadRequest, HubSpotClient

CONTACTS = "0-1"
MEMBERSHIP_BATCH = 100
READ_PAGE = 250


class HubSpotLists:
    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}

    def list_id(self, name: str, create: bool = True) -> str | None:
        if name in self._ids:
            return self._ids[name]
        try:
            found = self.client.call(lambda: self.client.lists.get_by_name(name, CONTACTS))
            list_id = str(found.list.list_id)
        except HubSpotBadRequest as exc:
            if exc.status != 404 or not create:
                return None
            made = self.client.call(lambda: self.client.lists.create(ListCreateRequest(
                name=name, object_type_id=CONTACTS, processing_type="MANUAL")))
            list_id = str(made.list.list_id)
        self._ids[name] = list_id
        return list_id

    def _page(self, list_id: str, after: str | None) -> Any:
        return self.client.call(lambda: self.client.memberships.get_page(list_id, after=after, limit=READ_PAGE))

    def _send(self, method: Any, list_id: str, ids: list[str]) -> None:
        self.client.call(lambda: method(list_id, ids))

    def members(self, name: str) -> set[str]:
        """Record ids in the list, read once per run (one paged read per list, not one call per contact)."""
        if name in self._members:
            return self._members[name]
        list_id = self.list_id(name, create=False)
        members: set[str] = set()
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
            for start in range(0, len(ids), MEMBERSHIP_BATCH):
                chunk = ids[start:start + MEMBERSHIP_BATCH]
                method = self.client.memberships.add if op == "add" else self.client.memberships.remove
                self._send(method, list_id, chunk)
                if op == "add":
                    known.update(chunk)
                else:
                    known.difference_update(chunk)
