"""Compressed JSON columns: what the state store keeps per lead (raw payload, decision) in a few hundred bytes.

`PackedJSON` is a column type: Python code reads and writes dicts exactly as with `JSON`, the
database holds one version byte plus raw DEFLATE of compact JSON, primed with a fixed dictionary
of the keys and phrases every payload and decision repeats. A 1.3 KB decision and its
explanation store in about 300 bytes. Rows written before (plain JSON text) still read.

Each dictionary is frozen: changing it would make stored rows unreadable. Version 2 adds typical rows of
every packed column (pack_dictionary_v2.txt, made by scripts/train_pack_dictionary.py from a demo run and
a bench run) after version 1's phrases: a decision packs in ~60 bytes instead of ~400, a CSV row in ~50.
New rows are packed with the newest version; rows of every earlier version stay readable.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import orjson
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
# v1's phrases first (farthest back), then typical rows: the DEFLATE window (32 KB) reaches all of it.
_DICTIONARY_V2 = _DICTIONARY_V1 + Path(__file__).with_name("pack_dictionary_v2.txt").read_bytes()
_DICTIONARIES = {1: _DICTIONARY_V1, 2: _DICTIONARY_V2}
_CURRENT = 2
# Loading a dictionary into a new compressor costs more than compressing a row; copying one that has it
# loaded costs a third of that. (memLevel 8: the same output as 9 here, and a smaller state to copy.)
# JSON this short ("[]", one list name) is stored as it is: compressing it saves a few bytes at the cost
# of a compressor. It cannot be mistaken for packed bytes: JSON text never starts with a version byte.
_STORED_AS_IS = 24
_PRIMED = {version: zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, dictionary)
           for version, dictionary in _DICTIONARIES.items()}


def compact_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as json.dumps(separators=(",", ":"), ensure_ascii=False) wrote it (floats below
    1e-4 aside: 1.5e-7 for 1.5e-07, the same number), in a fraction of the time: a state store packs
    several values per lead. A NaN float, which is not JSON, becomes null."""
    try:
        return orjson.dumps(value)
    except TypeError:  # what orjson refuses (integers past 64 bits, keys that are not strings): as before
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def pack(value: Any, version: int = _CURRENT) -> bytes:
    """Compact JSON, DEFLATE-compressed with the dictionary of `version` (an earlier one only to test reading)."""
    text = compact_json(value)
    if len(text) <= _STORED_AS_IS:
        return text
    compressor = _PRIMED[version].copy()
    return bytes([version]) + compressor.compress(text) + compressor.flush()


def _loads(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN and the like, which json.dumps wrote in rows of earlier versions
        return json.loads(text)


def unpack(stored: Any) -> Any:
    """The stored value back as JSON data: packed bytes of any version, or JSON of rows written before."""
    if stored is None:
        return None
    if isinstance(stored, memoryview):
        stored = stored.tobytes()
    if isinstance(stored, bytes):
        if not stored or stored[0] not in _DICTIONARIES:  # JSON text carried over as bytes (PostgreSQL)
            return json.loads(stored)
        decompressor = zlib.decompressobj(-15, _DICTIONARIES[stored[0]])
        return _loads(decompressor.decompress(stored[1:]) + decompressor.flush())
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
