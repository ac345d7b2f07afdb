"""Web-form submissions exported to JSON Lines files (a form backend's export, or the demo's data).

Each line is one submission: {"id": "...", "form_id": "...", "submitted_at": "ISO time",
"fields": {"first_name": "...", "email": "...", "utm_source": "...", ...}}. Repeated form keys
arrive as lists. The cursor per file is the number of lines already stored, so a file that
grows (an export appended to) is read from where the last run stopped.
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.errors import FatalError, RecordRejectedError
from connectors.field_targets import assign, check_field_map
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.sources.base import Page

DEFAULT_FIELD_MAP: dict[str, str] = {
    "first_name": "first_name", "firstname": "first_name", "last_name": "last_name", "lastname": "last_name",
    "name": "full_name", "full_name": "full_name", "email": "email", "work_email": "email",
    "phone": "phone", "phone_number": "phone", "telephone": "phone", "tel": "phone",
    "work_phone": "work_phone", "business_phone": "work_phone", "office_phone": "work_phone",
    "mobile": "mobile", "mobile_phone": "mobile", "mobilephone": "mobile", "mobile_number": "mobile",
    "cell": "mobile", "cell_phone": "mobile", "cellphone": "mobile",
    "company": "company", "organisation": "company", "organization": "company",
    "job_title": "title", "title": "title", "website": "website", "country": "country", "state": "state",
    "city": "city", "employees": "employees", "company_size": "employees", "industry": "industry",
    "message": "inquiry", "comments": "inquiry", "interest": "product_interest",
    "consent_marketing": "consent.email", "email_opt_in": "consent.email",
}
ATTRIBUTION_KEYS = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "campaign",
                    "utm_term": "term", "utm_content": "content", "gclid": "gclid", "gbraid": "gbraid",
                    "wbraid": "wbraid", "fbclid": "fbclid", "landing_page": "landing_page",
                    "referrer": "referrer"}


class FormFilesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["form_files"] = "form_files"
    name: str = Field(description="Source name; submissions are stored as form_files:<name>.")
    path: str = Field(description="JSON Lines file or glob of files, relative to the config file.")
    field_map: dict[str, str] = Field(default_factory=dict,
                                      description="Form field -> lead field (e.g. 'org: company', "
                                      "'budget: custom.budget:number:de').")
    honeypot_field: str | None = Field(default=None, description="Hidden field bots fill in: marks spam.")
    default_region: str = "US"
    batch_size: int = Field(default=500, ge=1)

    @field_validator("field_map")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        return check_field_map(value)


class FormFilesSource:
    def __init__(self, config: FormFilesConfig) -> None:
        self.config = config
        self.name = f"form_files:{config.name}"
        self.field_map = {**DEFAULT_FIELD_MAP, **config.field_map}

    def _files(self) -> list[Path]:
        files = sorted(Path(p) for p in glob.glob(self.config.path))
        if not files:
            raise FatalError(f"source {self.name}: no file matches {self.config.path}")
        return files

    def read(self, cursors: Mapping[str, str]) -> Iterator[Page]:
        for path in self._files():
            done = int(cursors.get(path.name, "0"))
            batch: list[RawSubmission] = []
            line_no = 0
            with path.open(encoding="utf-8") as handle:
                for line_no, line in enumerate(handle, start=1):
                    if line_no <= done or not line.strip():
                        continue
                    batch.append(self._raw(path, line_no, line))
                    if len(batch) >= self.config.batch_size:
                        yield Page(partition=path.name, records=batch, cursor=str(line_no))
                        batch = []
            if batch or line_no > done:
                yield Page(partition=path.name, records=batch, cursor=str(line_no))

    def _raw(self, path: Path, line_no: int, line: str) -> RawSubmission:
        try:
            payload = json.loads(line)
        except json.JSONDecodeError as exc:
            payload = {"unparsable_line": line.rstrip("\n"), "error": f"line {line_no}: {exc.msg}"}
        if not isinstance(payload, dict):
            payload = {"unparsable_line": line.rstrip("\n"), "error": f"line {line_no}: not a JSON object"}
        record_id = str(payload.get("id") or f"{path.name}:{line_no}")
        return RawSubmission(source=self.name, partition=path.name, source_record_id=record_id,
                             received_at=datetime.now(UTC), cursor_value=str(line_no), payload=payload)

    def to_lead(self, raw: RawSubmission) -> Lead:
        record = f"{raw.source}/{raw.source_record_id}"
        if "unparsable_line" in raw.payload:
            raise RecordRejectedError(record, "(line)", str(raw.payload.get("error", "not JSON")), code="MALFORMED")
        submitted = raw.payload.get("fields")
        if not isinstance(submitted, dict):
            raise RecordRejectedError(record, "fields", "missing or not an object", code="MALFORMED")
        return build_lead(raw, self.map_fields(submitted, raw.payload), self.config.default_region)

    def map_fields(self, submitted: Mapping[str, Any], envelope: Mapping[str, Any]) -> dict[str, Any]:
        return map_form_fields(submitted, envelope, self.field_map, self.config.honeypot_field)

    def commit(self, page: Page) -> None:
        """Nothing to acknowledge upstream: the cursor is all the state a file needs."""


def map_form_fields(submitted: Mapping[str, Any], envelope: Mapping[str, Any], field_map: Mapping[str, str],
                    honeypot_field: str | None) -> dict[str, Any]:
    """Form fields -> lead fields: mapped names, UTM and click ids as attribution, the rest as custom fields.

    Shared by form exports and the webhook receiver's HTML forms. Repeated keys arrive as lists.
    """
    fields: dict[str, Any] = {"consent": {}, "attribution": {"form_id": envelope.get("form_id")},
                              "custom": {}, "submitted_at": envelope.get("submitted_at")}
    for key, value in submitted.items():
        if key == honeypot_field:
            continue
        target = field_map.get(key) or field_map.get(key.lower())
        if key in ATTRIBUTION_KEYS:
            fields["attribution"][ATTRIBUTION_KEYS[key]] = _first(value)
        elif target == "product_interest":
            fields[target] = value if isinstance(value, list) else [value]
        elif target:
            assign(fields, target, _first(value))
        elif _FORM_ID_KEY.sub("", key.lower()) == "formid" and _first(value) not in (None, ""):
            # The form's own id, posted as a hidden field: it says which form this was better than the endpoint.
            fields["attribution"]["form_id"] = _first(value)
        else:
            fields["custom"][key] = value
    fields["is_spam"] = bool(honeypot_field and _first(submitted.get(honeypot_field)))
    return fields


_FORM_ID_KEY = re.compile(r"[^a-z]")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value
