"""Packed columns encode JSON with orjson: the same bytes json.dumps gave, and every earlier row still reads."""

from __future__ import annotations

import json
import math
import zlib
from typing import Any

import pytest

from flows.state.packing import _DICTIONARIES, compact_json, pack, unpack

VALUES: list[Any] = [
    {"explanation": "Qualified. Score 72 = fit 60 (+10) + behaviour 12; grade A.", "score": 72.0, "fit": 0.1 + 0.2,
     "lists_add": [], "owner": None, "mql": True, "n": -3, "big": 2**62},
    {"First Name": "Zoë", "Company": "Société Générale ☃", "Notes": "line\nbreak \"quoted\" \\ \u2028 \x00 \x1f"},
    ["nurture", "webinar"], "text", 1e22, 12345678901234567890 // 10,
]


def _as_json_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("value", VALUES)
def test_compact_json_is_byte_for_byte_json_dumps(value: Any) -> None:
    assert compact_json(value) == _as_json_dumps(value)
    assert unpack(pack(value)) == value


def test_floats_read_back_equal_whatever_their_notation() -> None:
    tiny = [1.5e-7, 1e-5, 5e-324, -0.0, 0.1 + 0.2]  # orjson writes 1.5e-7 where json wrote 1.5e-07
    assert json.loads(compact_json(tiny)) == tiny
    assert unpack(pack({"scores": tiny, "pad": "x" * 40})) == {"scores": tiny, "pad": "x" * 40}


def test_what_orjson_refuses_is_written_as_json_dumps_wrote_it() -> None:
    for value in ({"huge": 2**80}, {1: "int key"}):
        assert compact_json(value) == _as_json_dumps(value)
        assert unpack(pack(value)) == json.loads(_as_json_dumps(value))


def test_a_row_json_dumps_packed_with_nan_still_reads() -> None:
    text = _as_json_dumps({"score": float("nan"), "pad": "x" * 40})  # NaN: json's extension, not JSON
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, _DICTIONARIES[2])
    stored = bytes([2]) + compressor.compress(text) + compressor.flush()
    assert math.isnan(unpack(stored)["score"])
    assert math.isnan(unpack(text)["score"])  # an unpacked JSON row of before the packing
