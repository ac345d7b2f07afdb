"""Compressed JSON columns: what the state store keeps per lead (raw payload, decision) in a few hundred bytes.

`PackedJSON` is a column type: Python code reads and writes dicts exactly as with `JSON`, the
database holds one version byte plus raw DEFLATE of compact JSON, primed with a fixed dictionary
of the keys and phrases every payload and decision repeats. A 1.3 KB decision and its
explanation store in about 300 bytes. Rows written before (plain JSON text) still read.

The dictionary of version 1 is frozen: changing it would make stored rows unreadable. A better
one gets version 2, and both stay readable.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_DICTIONARY_V1 = (
    # raw submissions: CSV rows, form posts, webhook bodies
    b'{"file":"leads.csv","line":2,"row":{"First Name":"","Last Name":"","Company":"","Job Title":"","Email":"",'
    b'"Phone":"","Mobile":"","Country":"","State":"","City":"","Employees":"","Industry":"","Website":"",'
    b'"Notes":"","Lead Source":"","Opt-In":"","Product Interest":""}}'
    b'{"fields":{"email":"","first_name":"","last_name":"","company":"","title":"","phone":"","country":"",'
    b'"message":"","utm_source":"","utm_medium":"","utm_campaign":"","gclid":"","form_id":"","page_url":"https://'
    b'"},"received":"2026-","headers":{"content-type":"application/x-www-form-urlencoded"}}'
    b'"@gmail.com","@example.com",".example","United States","United Kingdom","Germany","VP Sales","Director",'
    # decisions and their explanations
    b'{"lead_key":"e-","qualification":"qualified","disqualify_reasons":[],"failed_checks":[],"score":0.0,'
    b'"fit_score":0.0,"behaviour_score":0.0,"score_lines":[{"rule_id":"","points":10.0,"kind":"fit","detail":""},'
    b'{"rule_id":"","points":5.0,"kind":"behaviour","detail":""}],"grade":"B","mql":false,"owner":"",'
    b'"queue":null,"team":null,"routing_rule_id":"","routing_method":"round_robin","routing_reason":"team ",'
    b'"skipped":[],"status_key":"new","status":"Open - Not Contacted","lists_add":[],"lists_remove":[],'
    b'"ruleset_version":"1 (sha256:","explanation":"Qualified. Score 0 = fit 0 (+10) + behaviour 0; grade B. '
    b'Not an MQL (threshold 60). Routed to  by rule : team  (round robin). Nurture: . Status Open - Not Contacted. '
    b'Ruleset 1 (sha256:).","stage":null,"transition":null,"next_rescore_at":null}'
    b'"qualification":"unqualified","qualification":"disqualified","mql":true,"routing_method":"weighted",'
    b'"routing_method":"account_owner","routing_method":"queue","status_key":"mql","status_key":"nurture",'
    b'"status_key":"unqualified","Working - Contacted","Closed - Not Converted","Nurturing","Unassigned Leads",'
    b'"Unqualified: failed check ","Disqualified: ","MQL (score  >= threshold 60)","Parked in queue ",'
    b'"@ourco.example","enterprise","smb"'
)
_DICTIONARIES = {1: _DICTIONARY_V1}
_CURRENT = 1


def pack(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARIES[_CURRENT])
    return bytes([_CURRENT]) + compressor.compress(text) + compressor.flush()


def unpack(stored: Any) -> Any:
    """The stored value back as JSON data: packed bytes of any version, or JSON of rows written before."""
    if stored is None:
        return None
    if isinstance(stored, memoryview):
        stored = stored.tobytes()
    if isinstance(stored, bytes):
        if stored[:1] in (b"{", b"["):
            return json.loads(stored)
        decompressor = zlib.decompressobj(-15, _DICTIONARIES[stored[0]])
        return json.loads(decompressor.decompress(stored[1:]) + decompressor.flush())
    if isinstance(stored, str):
        return json.loads(stored)
    return stored  # a JSON column not yet migrated hands back parsed data


class PackedJSON(TypeDecorator[Any]):
    """JSON in, JSON out; compressed bytes (BLOB / BYTEA) in the database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        return None if value is None else pack(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return unpack(value)
