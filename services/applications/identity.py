"""Identifiers of people and enterprises: what "the same person" and "the same enterprise" mean for
LT-10 (former Yixiang applicants excluded; one talent per enterprise).

* A person is their mainland resident ID number (居民身份证号码, GB 11643-1999: 17 digits and a
  check character). The number itself is never stored, published or logged: events carry a keyed
  pseudonym (``person_key``, HMAC-SHA256 under the configured ``PERSON_KEY_SECRET``; a plain hash
  of an ID number is easy to reverse by enumeration) and a masked form for people to read (the region code only).
* An enterprise is its unified social credit code (统一社会信用代码, GB 32100-2015: 18 characters
  and a check character). It is public information and is stored as given.
"""

import datetime as dt
import hashlib
import hmac

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check_char(first17):
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_number_error(value):
    """Why ``value`` is not a valid resident ID number, or None."""
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return "Not a resident ID number: 17 digits and a check digit (0-9 or X)."
    if id_check_char(value[:17]) != value[17]:
        return "The check digit does not match (GB 11643)."
    try:
        id_birth_date(value)
    except ValueError:
        return "The birth date inside the ID number is not a date."
    return None


def id_birth_date(value):
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def mask_id_number(value):
    """``532301************``: the region code only. The birth digits are on the form as
    ``birth_date``, so showing the last four too (as official lists do) would let anyone who
    reads both rebuild the whole number."""
    return value[:6] + "*" * 12


def person_key(secret, id_number):
    return hmac.new(secret.encode(), id_number.upper().encode(), hashlib.sha256).hexdigest()


def credit_code_check_char(first17):
    total = sum(_CODE_CHARS.index(c) * w for c, w in zip(first17, _CODE_WEIGHTS))
    return _CODE_CHARS[(31 - total % 31) % 31]


def credit_code_error(value):
    """Why ``value`` is not a valid unified social credit code, or None."""
    if len(value) != 18 or any(c not in _CODE_CHARS for c in value):
        return (
            "Not a unified social credit code: 18 characters of 0-9 and capital letters "
            "other than I, O, Z, S, V."
        )
    if credit_code_check_char(value[:17]) != value[17]:
        return "The check character does not match (GB 32100)."
    return None
