"""A person's erasure (PIPL-47): recorded once the key their personal fields were sealed with is
deleted; refused when there was no key left to delete (already erased)."""

from __future__ import annotations

from givenwhenthen import TODAY, NewEvent, given, refused, then, when

from services.applications.domain.person import ErasePerson, Person, person, stream

KEY = "9f2c" * 16
FIELDS = (
    "id_number_masked",
    "form.applicant.phone",
    "form.applicant.native_place",
    "form.applicant.photo",
)


def erase(application_id: str = "app-0001", basis: str = "request_of_the_person") -> ErasePerson:
    return ErasePerson(
        person_key=KEY, application_id=application_id, basis=basis, fields_erased=FIELDS
    )


def erased(application_id: str = "app-0001", basis: str = "request_of_the_person") -> NewEvent:
    return NewEvent(
        "PersonErased",
        {
            "person_key": KEY,
            "application_id": application_id,
            "erased_on": TODAY,
            "basis": basis,
            "fields_erased": list(FIELDS),
        },
        ("PIPL-47",),
    )


def test_deleting_the_key_records_the_erasure_by_pseudonym_only() -> None:
    then(when(person, given(person), erase(), key_held=True), erased())


def test_no_key_left_to_delete_means_already_erased() -> None:
    err = refused("PIPL-47", person, given(person, erased()), erase(), key_held=False)
    assert err.message == "the applicant of app-0001 is already erased"
    # the key store decides, even for a person with no erasure recorded
    refused("PIPL-47", person, given(person), erase("app-0002"), key_held=False)


def test_a_person_who_applied_again_under_a_new_key_is_erased_again() -> None:
    state = given(person, erased())
    assert state == Person(erasures=1)
    then(
        when(person, state, erase("app-0002", "retention_period_over"), key_held=True),
        erased("app-0002", "retention_period_over"),
    )


def test_one_stream_per_person() -> None:
    assert stream(KEY) == f"person-{KEY}"
    assert person.stream_type == "person"
