"""The notifications service's reads of its read models (the tables of ``projections.py``), one
named function each.

A read on its own takes ``query``: the unit of work's ``query`` (rows as dicts, in a transaction
of its own). A read inside an event handler's transaction takes the handler's cursor ``cur``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.db import prepared

Query = Callable[..., Any]
"""``UnitOfWork.query``: ``query(sql, args=(), one=False)``, rows as dicts."""
Row = dict[str, Any]


# -- the register's row of an event's application or talent (event handlers) --------------------
def who_query(payload: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
    """The register's row for the application or talent ``payload`` is about: (sql, args), or
    None if it is about neither. The inbox runs it with its insert (``subscribe(prefetch=)``)."""
    for column in ("application_id", "talent_id"):
        if column in payload:
            return (
                "SELECT applicant, applicant_name, county, category FROM candidates"
                f" WHERE {column} = %s",
                (payload[column],),
            )
    return None


def who(cur: Any, payload: Mapping[str, Any]) -> Row:
    """The register's row for the application or talent ``payload`` is about, or {}."""
    query = who_query(payload)
    if query is None:
        return {}
    cur.execute(*query)
    row = cur.fetchone()
    return dict(zip([c.name for c in cur.description], row)) if row else {}


_CONTACTS_AND_SUBSCRIBERS = (
    "SELECT ARRAY(SELECT ARRAY[recipient, email] FROM contacts WHERE recipient = ANY(%s)),"
    " ARRAY(SELECT subscriber_id FROM subscribers WHERE active AND %s = ANY(event_types))"
)


def contacts_and_subscribers(
    cur: Any, recipients: Sequence[str], event_type: str
) -> tuple[dict[str, str], list[str]]:
    """The e-mail addresses of ``recipients`` ({recipient: address}, those that have one) and the
    active webhook subscribers of ``event_type``, in one prepared statement."""
    cur.execute(prepared(cur, _CONTACTS_AND_SUBSCRIBERS), (recipients, event_type))
    contacts, subscribers = cur.fetchone()
    return dict(contacts), subscribers


def applicant_of(query: Query, application_id: str) -> str | None:
    """The applicant's actor id the register knows for ``application_id``, or None."""
    row = query(
        "SELECT applicant FROM candidates WHERE application_id = %s", (application_id,), one=True
    )
    return row and row["applicant"].removeprefix("applicant:")


# -- inboxes -------------------------------------------------------------------------------------
def inbox_messages(query: Query, recipient: str) -> list[Row]:
    return query(
        "SELECT notification_id, subject, body, source_service, source_event_type,"
        " source_event_id, recorded_at FROM inbox_messages WHERE recipient = %s"
        " ORDER BY recorded_at, notification_id",
        (recipient,),
    )


# -- webhook subscribers and e-mail contacts -----------------------------------------------------
def subscriber(query: Query, subscriber_id: str) -> Row | None:
    return query(
        "SELECT subscriber_id, name, url, event_types, secret_version, previous_valid_until,"
        " active, version, registered_at, updated_at FROM subscribers"
        " WHERE subscriber_id = %s",
        (subscriber_id,),
        one=True,
    )


def subscribers(query: Query) -> list[Row]:
    return query(
        "SELECT subscriber_id, name, url, event_types, secret_version, previous_valid_until,"
        " active, version, registered_at, updated_at FROM subscribers ORDER BY registered_at"
    )


def contact(query: Query, recipient: str) -> Row | None:
    return query(
        "SELECT recipient, email, updated_at FROM contacts WHERE recipient = %s",
        (recipient,),
        one=True,
    )


# -- deliveries ----------------------------------------------------------------------------------
_DELIVERY_COLUMNS = (
    "notification_id, channel, recipient, subject, source_service,"
    " source_event_type, source_event_id, status, attempts, last_error,"
    " next_attempt_at, attempted_at, delivered_at, dead_at, recorded_at"
)
DELIVERY_FILTERS = ("status", "channel", "recipient", "source_event_id")
"""The columns the list of deliveries can be filtered by."""


def deliveries(query: Query, filters: Mapping[str, str]) -> list[Row]:
    """The first 1,000 e-mail and webhook messages, in the order they were recorded, whose
    columns equal ``filters`` (keys among ``DELIVERY_FILTERS``)."""
    sql, params = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE true", []
    for column in DELIVERY_FILTERS:
        if column in filters:
            sql += f" AND {column} = %s"
            params.append(filters[column])
    return query(sql + " ORDER BY recorded_at, notification_id LIMIT 1000", params)


def dead_deliveries(query: Query) -> list[Row]:
    return query(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'dead'"
        " ORDER BY dead_at, notification_id"
    )


def delivery(query: Query, notification_id: str) -> Row | None:
    return query(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE notification_id = %s",
        (notification_id,),
        one=True,
    )


_STALE_SQL = """
    SELECT notification_id, attempts, notification_event_id, correlation_id FROM deliveries
    WHERE status = 'in_flight' AND attempted_at < %s ORDER BY attempted_at LIMIT %s"""
_DUE_SQL = """
    SELECT d.*, c.email, s.url, s.active, s.secret_version,
        s.previous_secret_version, s.previous_valid_until
    FROM deliveries d
    LEFT JOIN contacts c ON d.channel = 'email' AND c.recipient = d.recipient
    LEFT JOIN subscribers s ON d.channel = 'webhook'
        AND s.subscriber_id = substr(d.recipient, length('subscriber:') + 1)
    WHERE d.status IN ('pending', 'retrying') AND d.next_attempt_at <= %s
    AND NOT EXISTS (
        SELECT 1 FROM deliveries e
        WHERE d.channel = 'webhook' AND e.channel = 'webhook'
        AND e.recipient = d.recipient AND e.source_service = d.source_service
        AND e.source_stream_id = d.source_stream_id AND e.source_position < d.source_position
        AND e.status IN ('pending', 'retrying', 'in_flight'))
    ORDER BY d.next_attempt_at LIMIT %s"""


def stale_attempts(query: Query, attempted_before: dt.datetime, limit: int) -> list[Row]:
    """At most ``limit`` messages in flight since before ``attempted_before`` (their sender
    stopped mid-send), the oldest attempt first."""
    return query(_STALE_SQL, (attempted_before, limit))


def due_deliveries(query: Query, now: dt.datetime, limit: int) -> list[Row]:
    """At most ``limit`` messages whose next attempt has come by ``now``, the soonest first, each
    with its target: the recipient's e-mail address, or the subscriber's URL, whether it is
    active, its secret's version and the previous one's while it still signs. A webhook message
    waits while an earlier message of the same source stream to the same subscriber is still
    pending, in flight or being retried (one that was dead-lettered no longer holds it back)."""
    return query(_DUE_SQL, (now, limit))


# -- the public feeds ----------------------------------------------------------------------------
def notices(query: Query, closed: bool) -> list[Row]:
    """People on public notice (or suspended by an objection); ``closed``: past notices too."""
    return query(
        "SELECT applicant_name AS name, county, category, round_year,"
        " notice_start AS start_date, notice_end AS end_date, working_days, status"
        " FROM candidates WHERE notice_start IS NOT NULL"
        + ("" if closed else " AND status IN ('on_notice', 'suspended')")
        + " ORDER BY notice_start, county, applicant_name"
    )


def result_years(query: Query) -> list[int]:
    """The calendar years with assessment results, the latest first."""
    return [
        r["year"]
        for r in query(
            "SELECT DISTINCT extract(year FROM assessed_on)::int AS year FROM assessment_results"
            " ORDER BY year DESC"
        )
    ]


def results(query: Query, year: int) -> list[Row]:
    """The assessment results of calendar year ``year``."""
    return query(
        "SELECT applicant_name AS name, county, category, tenure_year, result, assessed_on"
        " FROM assessment_results WHERE extract(year FROM assessed_on) = %s"
        " ORDER BY county, applicant_name, tenure_year",
        (year,),
    )
