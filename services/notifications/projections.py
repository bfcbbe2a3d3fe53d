"""Read models of the notifications service, built from its own events (rebuildable from zero):
each recipient's in-app inbox, the deliveries (what the sender works from, and the dead-letter
list), the registry of subscribers and contacts, and the public register behind the feeds. Each is
defined once (``shared.readmodel``): the live path's statements and talent-audit's bulk replay
both come from that definition."""

from __future__ import annotations

import operator

from shared.readmodel import Append, By, Case, Empty, Eq, Event, ReadModel, Remove, Rows, Table, on

INBOX, DELIVERIES = "inbox_messages", "deliveries"


class InboxView(ReadModel):
    """Each recipient's in-app inbox: a message recorded on the inbox channel is delivered."""

    tables = (
        Table(
            INBOX,
            key=("notification_id",),
            columns=(
                "notification_id",
                "recipient",
                "subject",
                "body",
                "source_service",
                "source_event_type",
                "source_event_id",
                "recorded_at",
            ),
        ),
    )
    migrations = [
        (
            "inbox_messages_0001",
            """
        CREATE TABLE inbox_messages (
            notification_id   text PRIMARY KEY,
            recipient         text NOT NULL,
            subject           text NOT NULL,
            body              text NOT NULL,
            source_service    text NOT NULL,
            source_event_type text NOT NULL,
            source_event_id   text NOT NULL,
            recorded_at       timestamptz NOT NULL
        );
        CREATE INDEX inbox_messages_recipient ON inbox_messages (recipient, recorded_at);
    """,
        )
    ]

    @on("NotificationRecorded")
    def recorded(self, event: Event, rows: Rows) -> None:
        p = event.payload
        if p["channel"] == "inbox":  # (a row as a tuple: the most numerous rows of the store)
            rows.insert(INBOX, (*_MESSAGE(p), event.recorded_at))


_MESSAGE = operator.itemgetter(*InboxView.tables[0].columns[:-1])  # the payload's part of a row


class DeliveriesView(ReadModel):
    """One row per e-mail or webhook message: its state, the next attempt due, the last error."""

    tables = (
        Table(
            DELIVERIES,
            key=("notification_id",),
            columns=(
                "notification_id",
                "channel",
                "recipient",
                "subject",
                "body",
                "content",
                "source_service",
                "source_event_type",
                "source_event_id",
                "notification_event_id",
                "correlation_id",
                "status",
                "attempts",
                "target",
                "last_error",
                "next_attempt_at",
                "attempted_at",
                "delivered_at",
                "dead_at",
                "recorded_at",
                "updated_at",
                "source_stream_id",
                "source_position",
            ),
            defaults={"attempts": 0},
        ),
    )
    migrations = [
        (
            "deliveries_0001",
            """
        CREATE TABLE deliveries (
            notification_id   text PRIMARY KEY,
            channel           text NOT NULL,
            recipient         text NOT NULL,
            subject           text NOT NULL,
            body              text NOT NULL,
            content           text,
            source_service    text NOT NULL,
            source_event_type text NOT NULL,
            source_event_id   text NOT NULL,
            notification_event_id uuid NOT NULL,
            correlation_id    text,
            status            text NOT NULL,
            attempts          integer NOT NULL DEFAULT 0,
            target            text,
            last_error        text,
            next_attempt_at   timestamptz,
            attempted_at      timestamptz,
            delivered_at      timestamptz,
            dead_at           timestamptz,
            recorded_at       timestamptz NOT NULL,
            updated_at        timestamptz NOT NULL
        );
        CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
            WHERE status IN ('pending', 'retrying');
        CREATE INDEX deliveries_in_flight ON deliveries (attempted_at) WHERE status = 'in_flight';
        CREATE INDEX deliveries_source ON deliveries (source_event_id);
    """,
        ),
        (
            # a subscriber's webhooks go out in the order of their source stream (dispatch.py)
            "deliveries_0002_stream_order",
            """
        ALTER TABLE deliveries ADD COLUMN source_stream_id text,
            ADD COLUMN source_position bigint;
        CREATE INDEX deliveries_stream_order
            ON deliveries (recipient, source_service, source_stream_id, source_position)
            WHERE channel = 'webhook' AND status IN ('pending', 'retrying', 'in_flight');
    """,
        ),
    ]

    @on("NotificationRecorded")
    def recorded(self, event: Event, rows: Rows) -> None:
        p = event.payload
        if p["channel"] == "inbox":
            return
        at = event.recorded_at
        rows.insert(
            DELIVERIES,
            {
                "notification_id": p["notification_id"],
                "channel": p["channel"],
                "recipient": p["recipient"],
                "subject": p["subject"],
                "body": p["body"],
                "content": p.get("content"),
                "source_service": p["source_service"],
                "source_event_type": p["source_event_type"],
                "source_event_id": p["source_event_id"],
                "source_stream_id": p.get("source_stream_id"),
                "source_position": p.get("source_position"),
                "notification_event_id": event.event_id,
                "correlation_id": event.metadata.get("correlation_id"),
                "status": "pending",
                "next_attempt_at": at,
                "recorded_at": at,
                "updated_at": at,
            },
        )

    @on("DeliveryAttempted")
    def attempted(self, event: Event, rows: Rows) -> None:
        p = event.payload
        _delivery(
            rows,
            event,
            {
                "status": "in_flight",
                "attempts": p["attempt"],
                "target": p["target"],
                "attempted_at": event.recorded_at,
            },
        )

    @on("Delivered")
    def delivered(self, event: Event, rows: Rows) -> None:
        _delivery(
            rows,
            event,
            {"status": "delivered", "delivered_at": event.recorded_at, "next_attempt_at": None},
        )

    @on("DeliveryFailed")
    def failed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        _delivery(
            rows,
            event,
            {
                "status": "retrying",
                "attempts": p["attempt"],
                "last_error": p["error"],
                "next_attempt_at": p.get("retry_at"),
            },
        )

    @on("DeliveryDeadLettered")
    def dead_lettered(self, event: Event, rows: Rows) -> None:
        _delivery(
            rows, event, {"status": "dead", "dead_at": event.recorded_at, "next_attempt_at": None}
        )

    @on("DeliveryRedriven")
    def redriven(self, event: Event, rows: Rows) -> None:
        _delivery(
            rows,
            event,
            {"status": "pending", "dead_at": None, "next_attempt_at": event.recorded_at},
        )


def _delivery(rows: Rows, event: Event, values: dict) -> None:
    values["updated_at"] = event.recorded_at
    rows.update(DELIVERIES, event.payload["notification_id"], values)


class RegistryView(ReadModel):
    """Webhook subscribers and e-mail contacts, as they stand."""

    tables = (
        Table(
            "subscribers",
            key=("subscriber_id",),
            columns=(
                "subscriber_id",
                "name",
                "url",
                "event_types",
                "secret_version",
                "active",
                "version",
                "registered_at",
                "updated_at",
                "previous_secret_version",
                "previous_valid_until",
            ),
            arrays=("event_types",),
        ),
        Table("contacts", key=("recipient",), columns=("recipient", "email", "updated_at")),
    )
    migrations = [
        (
            "registry_0001",
            """
        CREATE TABLE subscribers (
            subscriber_id  text PRIMARY KEY,
            name           text NOT NULL,
            url            text NOT NULL,
            event_types    text[] NOT NULL,
            secret_version integer NOT NULL,
            active         boolean NOT NULL,
            version        integer NOT NULL,
            registered_at  timestamptz NOT NULL,
            updated_at     timestamptz NOT NULL
        );
        CREATE INDEX subscribers_event_types ON subscribers USING gin (event_types);
        CREATE TABLE contacts (
            recipient  text PRIMARY KEY,
            email      text NOT NULL,
            updated_at timestamptz NOT NULL
        );
    """,
        ),
        (
            # a rotated secret signs beside the new one until previous_valid_until
            "registry_0002_secret_overlap",
            """
        ALTER TABLE subscribers ADD COLUMN previous_secret_version integer,
            ADD COLUMN previous_valid_until timestamptz;
    """,
        ),
    ]

    @on("SubscriberRegistered")
    def registered(self, event: Event, rows: Rows) -> None:
        p, at = event.payload, event.recorded_at
        rows.insert(
            "subscribers",
            {
                "subscriber_id": p["subscriber_id"],
                "name": p["name"],
                "url": p["url"],
                "event_types": list(p["event_types"]),
                "secret_version": p["secret_version"],
                "active": True,
                "version": event.stream_version,
                "registered_at": at,
                "updated_at": at,
            },
        )

    @on("SubscriberChanged")
    def changed(self, event: Event, rows: Rows) -> None:
        p = event.payload
        _subscriber(
            rows, event, {"name": p["name"], "url": p["url"], "event_types": list(p["event_types"])}
        )

    @on("SubscriberSecretRotated")
    def rotated(self, event: Event, rows: Rows) -> None:
        p = event.payload
        _subscriber(
            rows,
            event,
            {
                "secret_version": p["secret_version"],
                "previous_secret_version": p.get("previous_secret_version"),
                "previous_valid_until": p.get("previous_valid_until"),
            },
        )

    @on("SubscriberDeactivated")
    def deactivated(self, event: Event, rows: Rows) -> None:
        _subscriber(rows, event, {"active": False})

    @on("ContactEmailSet")
    def email_set(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.upsert(
            "contacts",
            {"recipient": p["recipient"], "email": p["email"], "updated_at": event.recorded_at},
            update={"email": p["email"], "updated_at": event.recorded_at},
        )

    @on("ContactEmailRemoved")
    def email_removed(self, event: Event, rows: Rows) -> None:
        rows.delete("contacts", event.payload["recipient"])


def _subscriber(rows: Rows, event: Event, values: dict) -> None:
    values["version"], values["updated_at"] = event.stream_version, event.recorded_at
    rows.update("subscribers", event.payload["subscriber_id"], values)


class RegisterView(ReadModel):
    """The public register: candidates and their notices (LT-9.5), assessment results (LT-11.1)."""

    tables = (
        Table(
            "candidates",
            key=("application_id",),
            columns=(
                "application_id",
                "applicant",
                "applicant_name",
                "county",
                "category",
                "round_year",
                "status",
                "notice_start",
                "notice_end",
                "working_days",
                "objections",
                "talent_id",
                "certified_on",
                "updated_at",
            ),
            defaults={"objections": ()},
            arrays=("objections",),
            lookups=(("talent_id",),),
        ),
        Table(
            "assessment_results",
            key=("talent_id", "tenure_year"),
            columns=(
                "talent_id",
                "tenure_year",
                "result",
                "assessed_on",
                "applicant_name",
                "county",
                "category",
            ),
        ),
    )
    migrations = [
        (
            "register_0001",
            """
        CREATE TABLE candidates (
            application_id text PRIMARY KEY,
            applicant      text NOT NULL,
            applicant_name text NOT NULL,
            county         text NOT NULL,
            category       text NOT NULL,
            round_year     integer NOT NULL,
            status         text NOT NULL,
            notice_start   date,
            notice_end     date,
            working_days   integer,
            objections     text[] NOT NULL DEFAULT '{}',
            talent_id      text UNIQUE,
            certified_on   date,
            updated_at     timestamptz NOT NULL
        );
        CREATE INDEX candidates_applicant ON candidates (applicant);
        CREATE INDEX candidates_notice ON candidates (status, notice_start);
        CREATE TABLE assessment_results (
            talent_id      text NOT NULL,
            tenure_year    integer NOT NULL,
            result         text NOT NULL,
            assessed_on    date NOT NULL,
            applicant_name text NOT NULL,
            county         text NOT NULL,
            category       text NOT NULL,
            PRIMARY KEY (talent_id, tenure_year)
        );
        CREATE INDEX assessment_results_year ON assessment_results (assessed_on);
    """,
        )
    ]

    @on("CandidateNoted")
    def noted(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.insert(
            "candidates",
            {
                "application_id": p["application_id"],
                "applicant": p["applicant"],
                "applicant_name": p["applicant_name"],
                "county": p["county"],
                "category": p["category"],
                "round_year": p["round_year"],
                "status": "noted",
                "updated_at": event.recorded_at,
            },
        )

    @on("NoticePublished")
    def published(self, event: Event, rows: Rows) -> None:
        p = event.payload
        # a noted candidate goes on notice, suspended at once if an objection is pending
        noted = Eq("status", "noted")
        rows.update(
            "candidates",
            p["application_id"],
            {
                "notice_start": p["start_date"],
                "notice_end": p["end_date"],
                "working_days": p["working_days"],
                "updated_at": event.recorded_at,
            },
            {"status": Case((noted & ~Empty("objections"), "suspended"), (noted, "on_notice"))},
        )

    @on("CandidateCertified")
    def certified(self, event: Event, rows: Rows) -> None:
        p = event.payload
        rows.update(
            "candidates",
            p["application_id"],
            {
                "status": "certified",
                "talent_id": p["talent_id"],
                "certified_on": p["certified_on"],
                "updated_at": event.recorded_at,
            },
        )

    @on("CandidateRejected", "CandidateWithdrawn")
    def ended(self, event: Event, rows: Rows) -> None:
        status = "rejected" if event.event_type == "CandidateRejected" else "withdrawn"
        rows.update(
            "candidates",
            event.payload["application_id"],
            {"status": status, "updated_at": event.recorded_at},
        )

    @on("ObjectionNoted", "ObjectionCleared")
    def objection(self, event: Event, rows: Rows) -> None:
        p = event.payload
        change = Append if event.event_type == "ObjectionNoted" else Remove
        rows.update(
            "candidates",
            p["application_id"],
            {"updated_at": event.recorded_at},
            {"objections": change(p["objection_id"])},
        )
        # on notice, certification suspended while an objection is pending (LT-9.5)
        rows.update(
            "candidates",
            p["application_id"],
            {},
            {
                "status": Case(
                    (Eq("status", "on_notice") & ~Empty("objections"), "suspended"),
                    (Eq("status", "suspended") & Empty("objections"), "on_notice"),
                )
            },
        )

    @on("AssessmentResultAnnounced")
    def result_announced(self, event: Event, rows: Rows) -> None:
        p = event.payload
        # named as the certified candidate is on the register
        rows.insert_from(
            "assessment_results",
            {
                "talent_id": p["talent_id"],
                "tenure_year": p["tenure_year"],
                "result": p["result"],
                "assessed_on": p["assessed_on"],
            },
            "candidates",
            By(talent_id=p["talent_id"]),
            take={"applicant_name": "applicant_name", "county": "county", "category": "category"},
        )


READ_MODELS = [InboxView(), DeliveriesView(), RegistryView(), RegisterView()]
