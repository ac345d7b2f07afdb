"""Identity resolution, pure and table-driven: which leads and profiles are one person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.identity import Identity, identities_of, person_key, resolve
from connectors.normalise import lead_key_for
from connectors.records import Lead

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def lead(n: int = 1, **fields: object) -> Lead:
    values: dict[str, object] = {"source": "csv:show", "source_record_id": f"r{n}", "received_at": T0, **fields}
    values.setdefault("lead_key", lead_key_for(values.get("email"), "csv:show", f"r{n}",  # type: ignore[arg-type]
                                               values.get("phone")))  # type: ignore[arg-type]
    return Lead.model_validate(values)


def E(value: str) -> Identity:
    return Identity("email", value)


def test_identities_come_strongest_first_and_name_only_without_email() -> None:
    with_email = lead(email="ann@co.example", phone="+14155550134", crm_id="00Q1", anonymous_ids=["anon-1"],
                      first_name="Ann", last_name="Lee", company="Co Inc.")
    assert [x.kind for x in identities_of(with_email)] == ["email", "phone", "crm_id", "anonymous_id", "lead_key"]
    no_email = lead(phone="+14155550134", first_name="Ann", last_name="Lee", company="Bigco Inc.")
    assert [x.kind for x in identities_of(no_email)] == ["phone", "lead_key", "name"]


@pytest.mark.parametrize(("a", "b", "same"), [
    (("Jane", "Doe", "Acme Robotics Inc."), (" JANE ", "DOE", "ACME ROBOTICS"), True),
    (("Zoë", "Ångström-Nuñez", "Fjärd & Søn AB"), ("Zoe", "Angstrom Nunez", "Fjard & Son"), False),  # ø is no o+mark
    (("Zoë", "Ångström-Nuñez", "Fjärd AB"), ("zoe", "angstrom nunez", "FJARD"), True),
    (("Jane", "Doe", "Acme"), ("John", "Doe", "Acme"), False),
])
def test_person_key_survives_spelling_of_case_accents_and_legal_suffixes(
        a: tuple[str, str, str], b: tuple[str, str, str], same: bool) -> None:
    first = lead(1, phone="+14155550134", first_name=a[0], last_name=a[1], company=a[2])
    second = lead(2, phone="+14155550135", first_name=b[0], last_name=b[1], company=b[2])
    assert (person_key(first) == person_key(second)) is same


def test_person_key_is_per_source() -> None:
    one = lead(1, phone="+14155550134", first_name="Jane", last_name="Doe", company="Acme")
    other = one.model_copy(update={"source": "csv:other"})
    assert person_key(one) != person_key(other)


def test_a_new_person_gets_a_new_profile_with_every_identity() -> None:
    ids = [identities_of(lead(email="ann@co.example", phone="+14155550134"))]
    [person] = resolve(ids, {}, {})
    assert person.profile_id is None and person.merged == {}
    assert [x.kind for x in person.new_identities] == ["email", "phone"]


def test_a_known_email_finds_its_profile_and_adds_the_new_phone() -> None:
    ids = [identities_of(lead(email="ann@co.example", phone="+14155550134"))]
    [person] = resolve(ids, {E("ann@co.example"): 7}, {7: {"ann@co.example"}})
    assert person.profile_id == 7
    assert person.new_identities == [Identity("phone", "+14155550134")]


def test_a_phone_joins_a_phone_only_profile_and_an_email_profile_merging_them_with_the_reason() -> None:
    ids = [identities_of(lead(email="ann@co.example", phone="+14155550134"))]
    known = {E("ann@co.example"): 9, Identity("phone", "+14155550134"): 4}
    [person] = resolve(ids, known, {9: {"ann@co.example"}}, describe=["forms:contact/123"])
    assert person.profile_id == 4  # the oldest profile stays
    assert person.merged == {9: "same phone (linked by forms:contact/123)"}
    assert person.new_identities == []


def test_a_shared_office_phone_never_joins_two_people_with_different_emails() -> None:
    ids = [identities_of(lead(email="bob@co.example", phone="+14155550134"))]
    known = {Identity("phone", "+14155550134"): 4}
    [person] = resolve(ids, known, {4: {"ann@co.example"}})
    assert person.profile_id is None and person.merged == {}
    assert person.new_identities == [E("bob@co.example")]  # the phone stays Ann's


def test_an_identify_call_links_anonymous_history_to_the_person() -> None:
    identify = lead(email="ann@co.example", anonymous_ids=["anon-1"], events_only=True)
    ids = [identities_of(identify)]
    known = {E("ann@co.example"): 3, Identity("anonymous_id", "anon-1"): 8}
    [person] = resolve(ids, known, {3: {"ann@co.example"}}, describe=["segment/identify-1"])
    assert person.profile_id == 3
    assert person.merged == {8: "same anonymous id (linked by segment/identify-1)"}


def test_leads_of_one_batch_join_through_each_other() -> None:
    batch = [lead(1, phone="+14155550134", first_name="Jane", last_name="Doe", company="Acme"),
             lead(2, email="jane@acme.example", phone="+14155550134"),
             lead(3, email="max@other.example")]
    people = resolve([identities_of(x) for x in batch], {}, {})
    assert sorted(p.leads for p in people) == [[0, 1], [2]]


def test_two_emails_in_one_batch_sharing_a_phone_stay_two_people() -> None:
    batch = [lead(1, email="ann@co.example", phone="+14155550134"),
             lead(2, email="bob@co.example", phone="+14155550134")]
    assert len(resolve([identities_of(x) for x in batch], {}, {})) == 2


def test_a_corrected_phone_in_an_edited_file_is_the_same_person_by_name_and_company() -> None:
    edited = lead(5, phone="+14155550199", first_name="Jane", last_name="Doe", company="ACME, Inc.")
    original = lead(1, phone="+14155550134", first_name="Jane", last_name="Doe", company="Acme")
    known = {Identity("name", person_key(original) or ""): 2}
    [person] = resolve([identities_of(edited)], known, {})
    assert person.profile_id == 2
    assert Identity("phone", "+14155550199") in person.new_identities


def test_without_email_the_lead_key_follows_the_phone_not_the_record() -> None:
    assert lead_key_for(None, "csv:show", "abc:2", "+14155550134") == lead_key_for(None, "csv:show", "def:9",
                                                                                    "+14155550134")
    assert lead_key_for("a@x.example", "csv:show", "1", "+1") == lead_key_for("a@x.example", "forms:x", "2")
