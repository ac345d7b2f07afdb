"""LinkedIn lead form responses -> lead fields, through the form's predefined fields (pure, no I/O).

Answers reference only a questionId, so each stored response carries a summary of its form.
Labels are translated into the form creator's or the form's locale, so questions are mapped by
predefinedField (or by questionId in the config), never by label; custom questions are kept as
custom fields under their question text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.errors import RecordRejectedError
from connectors.field_targets import assign
from connectors.normalise import build_lead
from connectors.records import Lead, RawSubmission
from connectors.sources.form_files import ATTRIBUTION_KEYS

PREDEFINED_FIELDS = {
    "FIRST_NAME": "first_name", "LAST_NAME": "last_name", "EMAIL": "email", "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone", "WORK_PHONE_NUMBER": "work_phone", "COMPANY_NAME": "company", "JOB_TITLE": "title",
    "COUNTRY": "country", "CITY": "city", "STATE": "state", "ZIP_CODE": "postal_code", "POSTAL_CODE": "postal_code",
    "COMPANY_SIZE": "employees", "INDUSTRY": "industry", "COMPANY_WEBSITE": "website", "WEBSITE": "website",
    "STREET_ADDRESS": "street",
}


def _localized(text: Any) -> str | None:
    values = (text or {}).get("localized") or {} if isinstance(text, dict) else {}
    return next((str(v) for v in values.values() if v), None)


def form_summary(form: Mapping[str, Any]) -> dict[str, Any]:
    """What mapping needs from a leadForms element: questions, hidden fields, consents."""
    content = form.get("content") or {}
    questions = {}
    for question in content.get("questions") or []:
        details = question.get("questionDetails") or {}
        options = (details.get("multipleChoiceQuestionDetails") or {}).get("options") or []
        questions[str(question["questionId"])] = {
            "predefined": question.get("predefinedField"),
            "text": _localized(question.get("question")) or question.get("name") or str(question["questionId"]),
            "options": {str(o.get("id")): _localized(o.get("text")) for o in options},
        }
    consents = (content.get("legalInfo") or {}).get("consents") or []
    return {"id": str(form.get("id", "")), "name": form.get("name"), "questions": questions,
            "hidden_fields": {h.get("name"): h.get("value") for h in form.get("hiddenFields") or []},
            "consents": [str(c.get("id")) for c in consents]}


def _answer_value(answer: Mapping[str, Any], question: Mapping[str, Any]) -> Any:
    details = answer.get("answerDetails") or {}
    if "textQuestionAnswer" in details:
        return details["textQuestionAnswer"].get("answer")
    if "multipleChoiceAnswer" in details:
        options = question.get("options") or {}
        labels = [options.get(str(o)) or str(o) for o in details["multipleChoiceAnswer"].get("options") or []]
        return labels[0] if len(labels) == 1 else labels
    return None


def linkedin_fields(payload: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    response, form = payload["response"], payload.get("form") or {}
    questions = form.get("questions") or {}
    metadata = (response.get("leadMetadata") or {}).get("sponsoredLeadMetadata") or {}
    creative = (response.get("associatedEntity") or {}).get("associatedCreative")
    fields: dict[str, Any] = {"custom": {}, "consent": {}, "is_test": bool(response.get("testLead")),
                              "attribution": {"source": "linkedin", "form_id": form.get("id") or None,
                                              "campaign": _urn_id(metadata.get("campaign")),
                                              "ad_id": _urn_id(creative)}}
    for name, value in (form.get("hidden_fields") or {}).items():
        if name in ATTRIBUTION_KEYS and value:
            fields["attribution"][ATTRIBUTION_KEYS[name]] = value
    mapping = {**PREDEFINED_FIELDS, **field_map}
    for answer in (response.get("formResponse") or {}).get("answers") or []:
        question_id = str(answer["questionId"])
        question = questions.get(question_id) or {}
        value = _answer_value(answer, question)
        if value in (None, "", []):
            continue
        predefined = question.get("predefined")
        target = mapping.get(question_id) or (mapping.get(predefined) if predefined else None)
        if target and not fields.get(target):
            assign(fields, target, ", ".join(value) if isinstance(value, list) else value)
        elif not target:
            key = str(predefined).lower() if predefined else str(question.get("text") or question_id)
            fields["custom"][key] = value
    consents = form.get("consents") or []
    for reply in (response.get("formResponse") or {}).get("consentResponses") or []:
        consent_id = str(reply.get("consentId"))
        if len(consents) == 1 and consent_id == consents[0]:
            fields["consent"]["email"] = bool(reply.get("accepted"))  # one checkbox: the marketing opt-in
        else:
            fields["custom"][f"consent_{consent_id}"] = bool(reply.get("accepted"))
    return fields


def linkedin_lead(raw: RawSubmission, field_map: Mapping[str, str], default_region: str) -> Lead:
    try:
        fields = linkedin_fields(raw.payload, field_map)
    except (KeyError, TypeError, AttributeError) as exc:
        raise RecordRejectedError(f"{raw.source}/{raw.source_record_id}", str(exc).strip("'") or "payload",
                                  "missing or of the wrong shape", code="MALFORMED") from None
    return build_lead(raw, fields, default_region)


def _urn_id(urn: Any) -> str | None:
    return str(urn).rsplit(":", 1)[-1] if urn else None
