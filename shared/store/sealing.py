"""Crypto-shredding: personal fields are encrypted with a key of their person before the event is
hashed and stored, so that deleting the key erases the person from the history while every hash
still verifies (the hash is over the ciphertext, which stays).

* A person is named by the keyed pseudonym of their ID number (``person_key``, see
  ``services/applications/identity.py``); their key is 256 random bits in the ``person_keys``
  table of the service's database (the key store, created by the event store's migrations).
* A sealed value is the string ``enc1:<base64url(nonce ‖ AES-256-GCM(json(value)))>``; the
  associated data binds it to its person and field path, so a value cannot be moved to another
  person or field. A String field of a contract accepts it as it is (so does a date field
  declared ``SealedDate``), so stored events decode, and read models rebuilt from the events
  never see personal data in clear.
* Which fields are personal is ``PERSONAL`` below, decided field by field:

  ============================== ============================================================
  field                          decision
  ============================== ============================================================
  the ID number                  never stored at all (a keyed pseudonym, ``person_key``)
  ``id_number_masked``           encrypted, and shown as its region code only (``532301`` and
                                 twelve ``*``: ``SHOWN``): the birth date is on the form beside
                                 it, so birth digits or the last four beside it would rebuild
                                 the number (older events hold region and last four: shown the
                                 same way)
  ``form.applicant.phone``       encrypted: a mobile number reaches the person
  ``form.applicant.native_place`` encrypted: where the person comes from (籍贯), an address item
  ``form.applicant.photo``       encrypted: the reference of the person's photograph
  ``form.applicant.gender``      encrypted: the parity of the ID number's 17th digit (events
                                 recorded before it was sealed hold it in clear)
  ``form.applicant.birth_date``  encrypted: with the county (the region code) it narrows an ID
                                 number to about a thousand candidates; the contract's field
                                 takes a date or a sealed string (``SealedDate``; events
                                 recorded before it was sealed hold it in clear)
  ``county``                     clear: it routes the application (its county's officers, the
                                 county's recommendation and quota); the region code it stands
                                 for is the first six digits of the ID number
  names                          clear: the name is what the public notice (公示, LT-9.5) and the
                                 certification publish by law, and every subscriber needs it
  ============================== ============================================================

  The application form has no postal address; an address field added later goes in here.
* Reads decrypt only where a person's record is read (``EventStore.read_stream``); the replay,
  the relay (the broker payload other services and webhook subscribers see) and the catch-up
  feed carry the sealed values as stored. A value whose key was deleted reads as ``"erased"``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts import ERASED, SEALED_PREFIX

if TYPE_CHECKING:
    from psycopg2.extensions import cursor

PREFIX = SEALED_PREFIX
KEY_BYTES = 32
NONCE_BYTES = 12

Personal = tuple[str, tuple[str, ...]]
"""Of an event type: the payload field naming the person, and the personal fields (dotted paths)."""
Keys = dict[str, bytes | None]
"""Person -> their key (None: erased), looked up once per person by the calls sharing it."""

# event type -> (the payload field naming the person, the personal fields as dotted paths)
PERSONAL: dict[str, Personal] = {
    "ApplicationSubmitted": (
        "person_key",
        (
            "id_number_masked",
            "form.applicant.phone",
            "form.applicant.native_place",
            "form.applicant.photo",
            "form.applicant.gender",
            "form.applicant.birth_date",
        ),
    ),
    "YixiangApplicantRegistered": ("person_key", ("id_number_masked",)),
    "YixiangTalentTransferred": ("person_key", ("id_number_masked",)),
}


def _region_only(value: Any) -> Any:
    """An ID number's masked form reduced to its region code (``532301************``)."""
    if isinstance(value, str) and value != ERASED and len(value) == 18:
        return value[:6] + "*" * 12
    return value


SHOWN: dict[str, Callable[[Any], Any]] = {"id_number_masked": _region_only}
"""Of an opened field (by path): what a reader is shown of it."""

MIGRATIONS: list[tuple[str, str]] = [
    (
        "crypto_0001_person_keys",
        """
    CREATE TABLE person_keys (
        person_key text PRIMARY KEY,
        key        bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
""",
    )
]


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _aad(person: str, path: str) -> bytes:
    return f"{person}\x1f{path}".encode()


def seal_value(key: bytes, person: str, path: str, value: Any) -> str:
    """``value`` (anything JSON can hold) encrypted under ``key`` for ``person``'s ``path``."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, orjson.dumps(value), _aad(person, path))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def open_value(key: bytes | None, person: str, path: str, token: str) -> Any:
    """The value ``token`` seals; ``ERASED`` without a key. A token altered or moved to another
    person or field raises ``InvalidTag``."""
    if key is None:
        return ERASED
    text = token[len(PREFIX) :]
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return orjson.loads(
        AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(person, path))
    )


def _get(data: Any, parts: Sequence[str]) -> tuple[Any, bool]:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return None, False
        data = data[part]
    return data, True


def _replace(data: Any, parts: Sequence[str], fn: Callable[..., Any]) -> Any:
    """A copy of ``data`` with the value at ``parts`` replaced by ``fn(value)`` (the branches on
    the way copied, the rest shared). (``fn`` is typed loosely: mypy cannot type a lambda that
    binds a default, as the callers' do.)"""
    head, rest = parts[0], parts[1:]
    if not isinstance(data, dict) or head not in data:
        return data
    out = dict(data)
    out[head] = fn(data[head]) if not rest else _replace(data[head], rest, fn)
    return out


def _open_or_erased(key: bytes | None, person: str, path: str, token: str) -> Any:
    """A value sealed under an earlier key of a person erased and then recorded again cannot be
    opened by their new key: it was erased. (An altered row is the hash chain's to catch.)"""
    try:
        return open_value(key, person, path, token)
    except (InvalidTag, ValueError):
        return ERASED


class KeyStore:
    """The per-person keys of one service database, used inside the caller's transaction."""

    def __init__(self, personal: Mapping[str, Personal] | None = None) -> None:
        self.personal = PERSONAL if personal is None else personal

    def person_of(self, event_type: str, data: Mapping[str, Any]) -> tuple[Personal | None, Any]:
        spec = self.personal.get(event_type)
        return (spec, data.get(spec[0])) if spec else (None, None)

    # -- keys --------------------------------------------------------------------------------
    def key(self, cur: cursor, person: str, *, create: bool = False) -> bytes | None:
        if create:  # one round trip: the new key, or the one a concurrent writer stored first
            cur.execute(
                "WITH made AS (INSERT INTO person_keys (person_key, key) VALUES (%s, %s)"
                " ON CONFLICT (person_key) DO NOTHING RETURNING key)"
                " SELECT key FROM made UNION ALL"
                " SELECT key FROM person_keys WHERE person_key = %s",
                (person, new_key(), person),
            )
            row = cur.fetchone()
            if row is not None:
                return bytes(row[0])
        # (a writer that raced us committed after this statement's snapshot: read it afresh)
        cur.execute("SELECT key FROM person_keys WHERE person_key = %s", (person,))
        row = cur.fetchone()
        return bytes(row[0]) if row else None

    def erase(self, cur: cursor, person: str) -> bool:
        """Delete ``person``'s key: every value sealed for them reads ``"erased"`` from now on.
        True if there was a key."""
        cur.execute("DELETE FROM person_keys WHERE person_key = %s", (person,))
        return cur.rowcount > 0

    def known(self, cur: cursor, person: str) -> bool:
        cur.execute("SELECT 1 FROM person_keys WHERE person_key = %s", (person,))
        return cur.fetchone() is not None

    # -- events ------------------------------------------------------------------------------
    def seal(
        self, cur: cursor, event_type: str, data: dict[str, Any], keys: Keys | None = None
    ) -> dict[str, Any]:
        """``data`` with its personal fields sealed (a new dict; ``data`` itself is left as it
        is). A person erased before cannot be written again under a fresh key."""
        spec, person = self.person_of(event_type, data)
        if not spec or not person:
            return data
        keys = {} if keys is None else keys
        if person not in keys:
            keys[person] = self.key(cur, person, create=True)
        key = keys[person]
        for path in spec[1]:
            value, present = _get(data, path.split("."))
            if present and value is not None and not is_sealed(value):
                # (the key was found or made just now: None only if erased meanwhile, and then
                # AESGCM refuses it)
                data = _replace(
                    data,
                    path.split("."),
                    lambda v, p=path: seal_value(key, person, p, v),  # type: ignore[arg-type]
                )
        return data

    def unseal(
        self, cur: cursor, event_type: str, data: dict[str, Any], keys: Keys | None = None
    ) -> dict[str, Any]:
        """``data`` with its sealed fields opened (``"erased"`` where the key is gone)."""
        spec, person = self.person_of(event_type, data)
        if not spec or not person:
            return data
        keys = {} if keys is None else keys
        if person not in keys:
            keys[person] = self.key(cur, person)
        key = keys[person]
        for path in spec[1]:
            value, present = _get(data, path.split("."))
            if present and is_sealed(value):
                shown = SHOWN.get(path, lambda v: v)
                data = _replace(
                    data,
                    path.split("."),
                    lambda v, p=path, f=shown: f(_open_or_erased(key, person, p, v)),
                )
        return data

    def redact(
        self,
        cur: cursor,
        event_type: str,
        data: dict[str, Any],
        keys: dict[str, bool] | None = None,
    ) -> dict[str, Any]:
        """For auditors: ``data`` with each sealed field shown as ``"erased"`` where the person's
        key is gone and ``"encrypted"`` where it is not (the auditor sees no personal data)."""
        spec, person = self.person_of(event_type, data)
        if not spec or not person:
            return data
        keys = {} if keys is None else keys
        if person not in keys:
            keys[person] = self.known(cur, person)
        shown = "encrypted" if keys[person] else ERASED
        for path in spec[1]:
            value, present = _get(data, path.split("."))
            if present and is_sealed(value):
                data = _replace(data, path.split("."), lambda v: shown)
        return data


__all__ = [
    "ERASED",
    "InvalidTag",
    "KeyStore",
    "PERSONAL",
    "is_sealed",
    "new_key",
    "open_value",
    "seal_value",
]
