"""shared/store/sealing.py: sealing personal fields with a per-person key (AES-256-GCM), opening them,
and what a deleted key leaves ("erased")."""

import copy
import datetime as dt

import orjson
import pytest
from marshmallow import ValidationError

from shared.store import sealing
from shared.store.sealing import (
    ERASED,
    InvalidTag,
    KeyStore,
    is_sealed,
    new_key,
    open_value,
    seal_value,
)

PERSON = "a" * 64


class FakeCursor:
    """The key store's two tables' worth of SQL, in memory (its SQL is run for real in
    tests/integration/test_crypto_shredding.py)."""

    def __init__(self, keys=None):
        self.keys = {} if keys is None else keys
        self.result = None
        self.rowcount = 0
        self.statements = []

    def execute(self, sql, args):
        self.statements.append(sql)
        person = args[0]
        if sql.startswith("WITH made AS (INSERT"):  # insert if absent, then the stored key
            self.keys.setdefault(person, args[1])
            self.result = (self.keys[person],)
        elif sql.startswith("DELETE"):
            self.rowcount = int(self.keys.pop(person, None) is not None)
        elif sql.startswith("SELECT key"):
            self.result = (self.keys[person],) if person in self.keys else None
        elif sql.startswith("SELECT 1"):
            self.result = (1,) if person in self.keys else None

    def fetchone(self):
        return self.result


def submitted(**applicant):
    return {
        "application_id": "app-1",
        "person_key": PERSON,
        "applicant_name": "王五",
        "id_number_masked": "532301********123X",
        "form": {
            "specialty": "电商",
            "applicant": {
                "name": "王五",
                "phone": "13912345678",
                "native_place": "云南楚雄",
                "photo": "photo-ref-1",
                "birth_date": "1990-01-01",
                **applicant,
            },
        },
    }


@pytest.mark.parametrize("value", ["13912345678", "云南楚雄", "", 42, None, ["a", 1], {"k": "v"}])
def test_seal_and_open_round_trip(value):
    key = new_key()
    token = seal_value(key, PERSON, "form.applicant.phone", value)
    assert is_sealed(token) and token.startswith("enc1:")
    assert open_value(key, PERSON, "form.applicant.phone", token) == value


def test_the_same_value_seals_differently_each_time():
    key = new_key()
    assert seal_value(key, PERSON, "p", "13912345678") != seal_value(
        key, PERSON, "p", "13912345678"
    )


def test_a_token_opens_only_with_its_key_person_and_field():
    key = new_key()
    token = seal_value(key, PERSON, "form.applicant.phone", "13912345678")
    with pytest.raises(InvalidTag):
        open_value(new_key(), PERSON, "form.applicant.phone", token)
    with pytest.raises(InvalidTag):
        open_value(key, "b" * 64, "form.applicant.phone", token)
    with pytest.raises(InvalidTag):
        open_value(key, PERSON, "id_number_masked", token)


def test_a_tampered_token_is_refused():
    key = new_key()
    token = seal_value(key, PERSON, "p", "13912345678")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidTag):
        open_value(key, PERSON, "p", flipped)


def test_no_key_reads_erased():
    token = seal_value(new_key(), PERSON, "p", "13912345678")
    assert open_value(None, PERSON, "p", token) == ERASED


def test_keys_are_256_random_bits():
    assert len(new_key()) == 32 and new_key() != new_key()


def test_seal_encrypts_exactly_the_personal_fields():
    cur = FakeCursor()
    data = submitted()
    sealed = KeyStore().seal(cur, "ApplicationSubmitted", data)
    assert data == submitted()  # the input is left as it is
    applicant = sealed["form"]["applicant"]
    for value in (
        sealed["id_number_masked"],
        applicant["phone"],
        applicant["native_place"],
        applicant["photo"],
        applicant["birth_date"],
    ):
        assert is_sealed(value)
    assert (
        applicant["name"],
        sealed["applicant_name"],
        sealed["person_key"],
        sealed["form"]["specialty"],
    ) == ("王五", "王五", PERSON, "电商")
    text = str(sealed)
    assert "13912345678" not in text and "123X" not in text and "楚雄" not in text
    assert "1990" not in text
    assert set(cur.keys) == {PERSON}


def test_unseal_gives_back_the_event():
    cur = FakeCursor()
    store = KeyStore()
    sealed = store.seal(cur, "ApplicationSubmitted", submitted())
    opened = store.unseal(cur, "ApplicationSubmitted", sealed)
    # an older event's masked ID number (region and last four) is shown as its region only
    assert opened == {**submitted(), "id_number_masked": "532301************"}


def test_no_reader_sees_two_fields_that_rebuild_the_id_number():
    """The masked number beside the birth date on the form: region + birth date + last four was
    the whole number. What a reader is shown leaves the sequence digits unknown."""
    cur = FakeCursor()
    store = KeyStore()
    opened = store.unseal(
        cur, "ApplicationSubmitted", store.seal(cur, "ApplicationSubmitted", submitted())
    )
    shown = opened["id_number_masked"]
    birth = opened["form"]["applicant"]["birth_date"].replace("-", "")
    assert shown[6:].strip("*") == "" and birth not in shown
    assert "123X" not in str(opened)


def test_after_erasure_the_personal_fields_read_erased():
    cur = FakeCursor()
    store = KeyStore()
    sealed = store.seal(cur, "ApplicationSubmitted", submitted())
    assert store.erase(cur, PERSON) is True
    assert store.erase(cur, PERSON) is False
    opened = store.unseal(cur, "ApplicationSubmitted", sealed)
    assert opened["id_number_masked"] == ERASED
    erased = ("phone", "native_place", "photo", "birth_date")
    assert {k: opened["form"]["applicant"][k] for k in erased} == dict.fromkeys(erased, ERASED)
    assert opened["form"]["applicant"]["name"] == "王五"


def test_a_person_recorded_again_after_erasure_gets_a_new_key_and_the_old_stays_erased():
    cur = FakeCursor()
    store = KeyStore()
    old = store.seal(cur, "ApplicationSubmitted", submitted())
    store.erase(cur, PERSON)
    new = store.seal(cur, "ApplicationSubmitted", submitted(phone="13800000000"))
    assert store.unseal(cur, "ApplicationSubmitted", old)["form"]["applicant"]["phone"] == ERASED
    assert (
        store.unseal(cur, "ApplicationSubmitted", new)["form"]["applicant"]["phone"]
        == "13800000000"
    )


def test_redact_shows_encrypted_or_erased_never_the_value():
    cur = FakeCursor()
    store = KeyStore()
    sealed = store.seal(cur, "ApplicationSubmitted", submitted())
    assert (
        store.redact(cur, "ApplicationSubmitted", sealed)["form"]["applicant"]["phone"]
        == "encrypted"
    )
    store.erase(cur, PERSON)
    assert store.redact(cur, "ApplicationSubmitted", sealed)["id_number_masked"] == ERASED


def test_events_without_personal_fields_pass_untouched_and_cost_no_query():
    cur = FakeCursor()
    data = {"application_id": "app-1", "stage": "inspection"}
    store = KeyStore()
    assert store.seal(cur, "ReviewPassed", data) is data
    assert store.unseal(cur, "ReviewPassed", data) is data
    assert store.seal(cur, "ApplicationSubmitted", {"application_id": "a"}) == {
        "application_id": "a"
    }  # no person named: nothing to seal with
    assert cur.statements == []


def test_one_key_lookup_per_person_per_batch():
    cur = FakeCursor()
    store, keys = KeyStore(), {}
    for _ in range(5):
        store.seal(cur, "ApplicationSubmitted", submitted(), keys)
    assert len(cur.statements) == 1  # INSERT … ON CONFLICT DO NOTHING and SELECT, one statement


def test_every_personal_event_names_its_person_in_its_contract():
    from shared.contracts import load_all

    registry = load_all()
    for event_type, (person_field, paths) in sealing.PERSONAL.items():
        schema = registry.contract(event_type).schema
        assert person_field in schema.fields, event_type
        for path in paths:
            fields_ = schema.fields
            for part in path.split("."):
                field = fields_[part]
                fields_ = getattr(getattr(field, "schema", None), "fields", None)
            # a field that takes a sealed value: a String, or a date declared SealedDate
            assert type(field).__name__ in ("String", "SealedDate"), (event_type, path)


def test_a_sealed_date_reads_in_clear_sealed_opened_or_erased():
    """The birth date: events recorded before it was sealed hold the date in clear and still
    decode; a sealed or erased value passes through; anything else is refused, on every path
    (the fast paths of stored and of received JSON, and marshmallow's own load)."""
    from shared.contracts import load_all
    from shared.errors import InvalidInput
    from tests.unit.test_contracts import sample_payload

    contract = load_all().contract("ApplicationSubmitted")
    assert contract.fast_load and contract.fast_check and contract.fast_dump  # none given up
    wire = orjson.loads(orjson.dumps(contract.dump(sample_payload(contract.schema))))

    def with_birth_date(payload, value):
        payload = copy.deepcopy(payload)
        payload["form"]["applicant"]["birth_date"] = value
        return payload

    def birth_date(payload):
        return payload["form"]["applicant"]["birth_date"]

    token = seal_value(new_key(), PERSON, "form.applicant.birth_date", "1990-01-01")
    for stored, read in (
        ("1990-01-01", dt.date(1990, 1, 1)),
        (token, token),
        (ERASED, ERASED),
    ):
        data = with_birth_date(wire, stored)
        assert birth_date(contract.fast_load(data)) == read
        assert birth_date(contract.fast_check(data)) == read
        assert birth_date(contract.schema.load(data)) == read
    for bad in ("", "1990.01.01", "sealed", 19900101, None):
        data = with_birth_date(wire, bad)
        with pytest.raises(ValidationError):
            contract.schema.load(data)
        with pytest.raises(Exception):  # noqa: B017 - the fast path gives way to marshmallow
            contract.fast_check(data)
    given = contract.load(wire)
    assert birth_date(contract.dump(with_birth_date(given, token))) == token
    with pytest.raises(InvalidInput) as refused:  # a value is never written erased
        contract.dump(with_birth_date(given, ERASED))
    assert "form" in refused.value.fields
