"""CSV list imports (trade-show scans, purchased lists): streamed, so a 1M-row file runs in flat memory.

Handles what spreadsheets really produce: a UTF-8 BOM, `;` or tab separators, Windows-1252
from European Excel, header spelling variants, multi-line quoted notes and truncated rows.
A file's partition and record ids come from its content hash, so the same file imported again
(under any name) resumes from its cursor and stores nothing twice, while a changed file is new.
"""

from __future__ import annotations

import codecs
import csv
import glob
import hashlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.errors import FatalError, RecordRejectedError
from connectors.field_targets import assign, check_field_map
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.sources.base import Page
from connectors.sources.csv_events import CsvEvents, header_key

# Lead field -> header spellings seen in exports (compared without case, spaces or punctuation).
DEFAULT_ALIASES: dict[str, list[str]] = {
    "first_name": ["first name", "firstname", "first", "given name", "forename"],
    "last_name": ["last name", "lastname", "last", "surname", "family name"],
    "full_name": ["name", "full name", "contact name"],
    "email": ["email", "e-mail", "email address", "e-mail address", "mail", "email_address", "work email"],
    "phone": ["phone", "telephone", "phone number", "tel", "phone_number", "direct phone", "phone 1", "phone1",
              "direct", "direct dial", "landline"],
    "work_phone": ["work phone", "business phone", "office phone", "company phone", "work phone number",
                   "business phone number", "work tel"],
    "mobile": ["mobile", "mobile phone", "cell", "cell phone", "mobile number", "cell number", "mobile no",
               "cellphone", "mobilephone", "handy", "mobil", "mobile tel", "m", "phone 2", "phone2", "gsm",
               "mobile/cell", "cell/mobile", "portable", "mobile phone number"],
    "company": ["company", "company name", "organisation", "organization", "account", "account name"],
    "title": ["title", "job title", "position", "role", "job_title"],
    "country": ["country", "country/region"],
    "state": ["state", "state/province", "province", "region", "county"],
    "city": ["city", "town"],
    "postal_code": ["zip", "postal code", "zip/postal code", "postcode", "zip code"],
    "street": ["address", "address 1", "street", "street address"],
    "website": ["website", "url", "web site", "company website"],
    "industry": ["industry", "sector"],
    "employees": ["employees", "company size", "number of employees", "headcount", "# employees"],
    "consent": ["opt-in", "opt in", "consent", "email opt-in", "marketing consent", "optin"],
    "inquiry": ["notes", "comments", "note", "comment", "message"],
    "product_interest": ["product interest", "interest", "interests"],
    "lead_source": ["lead source", "source"],
}
SNIFF_BYTES = 64 * 1024


class CsvImportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Source name; records are stored as csv:<name>.")
    path: str = Field(description="A CSV file, or a glob of files, relative to the config file.")
    encoding: str = Field(default="auto", description="'auto' (UTF-8, with or without BOM, else Windows-1252) "
                          "or a Python codec name.")
    delimiter: str = Field(default="auto", description="'auto' sniffs among , ; tab and |.")
    columns: dict[str, list[str]] = Field(default_factory=dict,
                                          description="Extra header spellings per lead field; a custom field may be "
                                          "typed: 'custom.budget:number:de: [Budget]'.")
    default_region: str = Field(default="US", description="Region for phone numbers without a country code.")
    batch_size: int = Field(default=1000, ge=1, description="Rows per page stored in the inbox.")
    lead_source: str | None = Field(default=None, description="Attribution source for every row, e.g. 'tradeshow'.")
    events: CsvEvents | None = Field(default=None, description="Attendance lists: every row also carries one "
                                     "event (type, at_column, detail_column...).")

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = [f for f in value if f not in DEFAULT_ALIASES and not f.startswith("custom.")]
        if unknown:
            raise ValueError(f"unknown lead field(s) {unknown}; known: {', '.join(DEFAULT_ALIASES)} or custom.<name>")
        check_field_map({f: f for f in value if f.startswith("custom.")})
        return value


class CsvImportSource:
    def __init__(self, config: CsvImportConfig) -> None:
        self.config = config
        self.name = f"csv:{config.name}"
        aliases = {field: list(names) for field, names in DEFAULT_ALIASES.items()}
        for field, names in config.columns.items():
            aliases.setdefault(field, []).extend(names)
        self._alias_to_field = {header_key(n): field for field, names in aliases.items() for n in names}

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        files = sorted(glob.glob(self.config.path))
        if not files:
            raise FatalError(f"source {self.name}: no file matches {self.config.path}")
        for path in map(Path, files):
            digest = _sha256(path)
            partition = f"{path.name}#{digest[:16]}"
            yield from self._read_file(path, digest, partition, int(cursors.get(partition, "0")))

    def _read_file(self, path: Path, digest: str, partition: str, done_line: int) -> Iterator[Page]:
        encoding = self._encoding(path)
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, dialect=self._dialect(path, encoding))
            header = next(reader, None)
            if header is None:
                return
            columns = [h.strip() for h in header]
            self._check_header(path, columns)
            batch: list[RawSubmission] = []
            last_line = done_line
            start_line = reader.line_num + 1
            for values in reader:
                line, start_line = start_line, reader.line_num + 1
                if line <= done_line or not any(v.strip() for v in values):
                    last_line = max(last_line, line)
                    continue
                row = {col: val for col, val in zip(columns, values, strict=False) if col}
                batch.append(RawSubmission(
                    source=self.name, partition=partition, source_record_id=f"{digest[:16]}:{line}",
                    received_at=datetime.now(UTC), cursor_value=str(line),
                    payload={"file": path.name, "line": line, "row": row}))
                last_line = line
                if len(batch) >= self.config.batch_size:
                    yield Page(partition=partition, records=batch, cursor=str(last_line))
                    batch = []
            if batch or last_line > done_line:
                yield Page(partition=partition, records=batch, cursor=str(last_line))

    def _check_header(self, path: Path, columns: list[str]) -> None:
        fields = {self._alias_to_field.get(header_key(c)) for c in columns}
        if not fields & {"email", "phone", "mobile", "work_phone"}:
            raise FatalError(f"source {self.name}: {path.name} has no e-mail or phone column "
                             f"(headers found: {', '.join(columns)})")
        missing = self.config.events.missing_columns(columns) if self.config.events else []
        if missing:
            raise FatalError(f"source {self.name}: {path.name} has no column {', '.join(map(repr, missing))} "
                             f"named in events (headers found: {', '.join(columns)})")

    def _encoding(self, path: Path) -> str:
        if self.config.encoding != "auto":
            return self.config.encoding
        decoder = codecs.getincrementaldecoder("utf-8")()
        with path.open("rb") as handle:
            try:
                while chunk := handle.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return "cp1252"  # what European Excel writes for "CSV (semicolon)"
        return "utf-8-sig"

    def _dialect(self, path: Path, encoding: str) -> type[csv.Dialect] | csv.Dialect:
        if self.config.delimiter != "auto":
            delimiter = "\t" if self.config.delimiter in {"tab", "\\t"} else self.config.delimiter

            class Configured(csv.excel):
                pass

            Configured.delimiter = delimiter
            return Configured
        with path.open(encoding=encoding, newline="") as handle:
            sample = handle.read(SNIFF_BYTES)
        first_line = sample.splitlines()[0] if sample else ""
        counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
        best = max(counts, key=lambda d: counts[d])

        class Sniffed(csv.excel):
            pass

        Sniffed.delimiter = best if counts[best] else ","
        return Sniffed

    def to_lead(self, raw: RawSubmission) -> Lead:
        row: dict[str, str] = raw.payload["row"]
        record = f"{self.name}/{raw.payload['file']}:line {raw.payload['line']}"
        fields: dict[str, Any] = {"custom": {}, "consent": {}, "attribution": {"source": self.config.lead_source}}
        events = self.config.events
        if events is not None:
            fields["events"] = [events.row_event(row, record, f"{self.name}:{raw.source_record_id}:{events.type}")]
        event_columns = events.columns() if events is not None else set()
        for column, value in row.items():
            key = header_key(column)
            if key in event_columns:
                continue
            field = self._alias_to_field.get(key)
            if field is None:
                if value and value.strip():
                    fields["custom"][column] = value.strip()
            elif field == "consent":
                fields["consent"]["email"] = value
            elif field.startswith("custom."):
                if value and value.strip():
                    assign(fields, field, value.strip())
            elif field == "lead_source":
                fields["attribution"]["source"] = value or self.config.lead_source
            elif value and value.strip() and not fields.get(field):
                fields[field] = value
        try:
            return build_lead(raw, fields, self.config.default_region)
        except RecordRejectedError as exc:
            raise RecordRejectedError(record, exc.field, exc.reason, code=exc.code) from None

    def commit(self, page: Page) -> None:
        """A file needs no acknowledgement: its cursor (last stored line) is all the state."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

