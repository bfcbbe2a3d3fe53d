"""Read models of the notifications service, built from its own events (rebuildable from zero):
each recipient's in-app inbox, the deliveries (what the sender works from, and the dead-letter
list), the registry of subscribers and contacts, and the public register behind the feeds."""
import operator


class InboxView:
    """Each recipient's in-app inbox: a message recorded on the inbox channel is delivered."""
    migrations = [("inbox_messages_0001", """
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
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM inbox_messages")

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _InboxFold()

    def apply(self, cur, event):
        if event.event_type != "NotificationRecorded" or event.payload["channel"] != "inbox":
            return
        p = event.payload
        cur.execute("INSERT INTO inbox_messages VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (p["notification_id"], p["recipient"], p["subject"], p["body"],
                     p["source_service"], p["source_event_type"], p["source_event_id"],
                     event.recorded_at))


class DeliveriesView:
    """One row per e-mail or webhook message: its state, the next attempt due, the last error."""
    migrations = [("deliveries_0001", """
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
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM deliveries")

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _DeliveriesFold()

    def apply(self, cur, event):
        p, at = event.payload, event.recorded_at
        match event.event_type:
            case "NotificationRecorded":
                if p["channel"] == "inbox":
                    return
                cur.execute(
                    "INSERT INTO deliveries (notification_id, channel, recipient, subject, body,"
                    " content, source_service, source_event_type, source_event_id,"
                    " notification_event_id, correlation_id, status, next_attempt_at,"
                    " recorded_at, updated_at) VALUES"
                    " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s, %s)",
                    (p["notification_id"], p["channel"], p["recipient"], p["subject"], p["body"],
                     p.get("content"), p["source_service"], p["source_event_type"],
                     p["source_event_id"], event.event_id, event.metadata.get("correlation_id"),
                     at, at, at))
                return
            case "DeliveryAttempted":
                sql = ("status = 'in_flight', attempts = %s, target = %s, attempted_at = %s",
                       (p["attempt"], p["target"], at))
            case "Delivered":
                sql = "status = 'delivered', delivered_at = %s, next_attempt_at = NULL", (at,)
            case "DeliveryFailed":
                sql = ("status = 'retrying', attempts = %s, last_error = %s, next_attempt_at = %s",
                       (p["attempt"], p["error"], p.get("retry_at")))
            case "DeliveryDeadLettered":
                sql = "status = 'dead', dead_at = %s, next_attempt_at = NULL", (at,)
            case "DeliveryRedriven":
                sql = "status = 'pending', dead_at = NULL, next_attempt_at = %s", (at,)
            case _:
                return
        cur.execute(f"UPDATE deliveries SET {sql[0]}, updated_at = %s WHERE notification_id = %s",
                    sql[1] + (at, p["notification_id"]))


class RegistryView:
    """Webhook subscribers and e-mail contacts, as they stand."""
    migrations = [("registry_0001", """
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
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM subscribers; DELETE FROM contacts")

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _RegistryFold()

    def apply(self, cur, event):
        p, at, version = event.payload, event.recorded_at, event.stream_version
        match event.event_type:
            case "SubscriberRegistered":
                cur.execute("INSERT INTO subscribers VALUES (%s, %s, %s, %s, %s, true, %s, %s, %s)",
                            (p["subscriber_id"], p["name"], p["url"], list(p["event_types"]),
                             p["secret_version"], version, at, at))
            case "SubscriberChanged":
                cur.execute("UPDATE subscribers SET name = %s, url = %s, event_types = %s,"
                            " version = %s, updated_at = %s WHERE subscriber_id = %s",
                            (p["name"], p["url"], list(p["event_types"]), version, at,
                             p["subscriber_id"]))
            case "SubscriberSecretRotated":
                cur.execute("UPDATE subscribers SET secret_version = %s, version = %s,"
                            " updated_at = %s WHERE subscriber_id = %s",
                            (p["secret_version"], version, at, p["subscriber_id"]))
            case "SubscriberDeactivated":
                cur.execute("UPDATE subscribers SET active = false, version = %s, updated_at = %s"
                            " WHERE subscriber_id = %s", (version, at, p["subscriber_id"]))
            case "ContactEmailSet":
                cur.execute("INSERT INTO contacts VALUES (%s, %s, %s) ON CONFLICT (recipient)"
                            " DO UPDATE SET email = excluded.email,"
                            " updated_at = excluded.updated_at",
                            (p["recipient"], p["email"], at))
            case "ContactEmailRemoved":
                cur.execute("DELETE FROM contacts WHERE recipient = %s", (p["recipient"],))


class RegisterView:
    """The public register: candidates and their notices (LT-9.5), assessment results (LT-11.1)."""
    migrations = [("register_0001", """
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
    """)]

    def reset(self, cur):
        cur.execute("DELETE FROM candidates; DELETE FROM assessment_results")

    def fold(self):
        """The bulk replay path (see the end of this file)."""
        return _RegisterFold()

    def apply(self, cur, event):
        p, at = event.payload, event.recorded_at
        match event.event_type:
            case "CandidateNoted":
                cur.execute("INSERT INTO candidates (application_id, applicant, applicant_name,"
                            " county, category, round_year, status, updated_at)"
                            " VALUES (%s, %s, %s, %s, %s, %s, 'noted', %s)",
                            (p["application_id"], p["applicant"], p["applicant_name"],
                             p["county"], p["category"], p["round_year"], at))
            case "NoticePublished":
                cur.execute("UPDATE candidates SET notice_start = %s, notice_end = %s,"
                            " working_days = %s, updated_at = %s, status = CASE"
                            " WHEN status <> 'noted' THEN status"
                            " WHEN cardinality(objections) > 0 THEN 'suspended'"
                            " ELSE 'on_notice' END WHERE application_id = %s",
                            (p["start_date"], p["end_date"], p["working_days"], at,
                             p["application_id"]))
            case "CandidateCertified":
                cur.execute("UPDATE candidates SET status = 'certified', talent_id = %s,"
                            " certified_on = %s, updated_at = %s WHERE application_id = %s",
                            (p["talent_id"], p["certified_on"], at, p["application_id"]))
            case "CandidateRejected" | "CandidateWithdrawn":
                status = "rejected" if event.event_type == "CandidateRejected" else "withdrawn"
                cur.execute("UPDATE candidates SET status = %s, updated_at = %s"
                            " WHERE application_id = %s", (status, at, p["application_id"]))
            case "ObjectionNoted" | "ObjectionCleared":
                change = ("array_append" if event.event_type == "ObjectionNoted"
                          else "array_remove")
                cur.execute(f"UPDATE candidates SET objections = {change}(objections, %s),"
                            " updated_at = %s WHERE application_id = %s",
                            (p["objection_id"], at, p["application_id"]))
                # on notice, certification suspended while an objection is pending (LT-9.5)
                cur.execute("UPDATE candidates SET status = CASE"
                            " WHEN status = 'on_notice' AND cardinality(objections) > 0"
                            " THEN 'suspended'"
                            " WHEN status = 'suspended' AND cardinality(objections) = 0"
                            " THEN 'on_notice' ELSE status END WHERE application_id = %s",
                            (p["application_id"],))
            case "AssessmentResultAnnounced":
                cur.execute("INSERT INTO assessment_results SELECT %s, %s, %s, %s, applicant_name,"
                            " county, category FROM candidates WHERE talent_id = %s",
                            (p["talent_id"], p["tenure_year"], p["result"], p["assessed_on"],
                             p["talent_id"]))


# -- bulk replay (talent-audit replay) ----------------------------------------------------------
# The same read models folded in memory with the statements' exact effects (an UPDATE of a
# missing row changes nothing; the second statement of an objection sees the first one's
# result), then written once (talent-audit writes them with COPY; a text[] goes as an array
# literal). tests/integration/test_replay_bulk.py checks them against ``apply``; the live path
# above stays the one the service uses. Each fold names the ``event_types`` it reads (talent-audit
# gives it only those) and ignores any other at once.
def _array(values):
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


def _table(columns, rows):
    return columns, [tuple(r[c] for c in columns) for r in rows]


class _InboxFold:
    COLUMNS = ("notification_id", "recipient", "subject", "body", "source_service",
               "source_event_type", "source_event_id", "recorded_at")
    event_types = frozenset({"NotificationRecorded"})
    _values = operator.itemgetter(*COLUMNS[:-1])  # the payload's part of a row

    def __init__(self):
        self.rows = {}

    def apply(self, event):
        if event.event_type != "NotificationRecorded":
            return
        p = event.payload
        if p["channel"] == "inbox":
            self.rows[p["notification_id"]] = (*self._values(p), event.recorded_at)

    def tables(self):
        return {"inbox_messages": (self.COLUMNS, list(self.rows.values()))}


class _DeliveriesFold:
    COLUMNS = ("notification_id", "channel", "recipient", "subject", "body", "content",
               "source_service", "source_event_type", "source_event_id",
               "notification_event_id", "correlation_id", "status", "attempts", "target",
               "last_error", "next_attempt_at", "attempted_at", "delivered_at", "dead_at",
               "recorded_at", "updated_at")

    event_types = frozenset({"NotificationRecorded", "DeliveryAttempted", "Delivered",
                             "DeliveryFailed", "DeliveryDeadLettered", "DeliveryRedriven"})

    def __init__(self):
        self.rows = {}

    def apply(self, event):
        kind = event.event_type
        if kind not in self.event_types:
            return
        p = event.payload
        if kind == "NotificationRecorded":
            if p["channel"] != "inbox":
                at = event.recorded_at
                self.rows[p["notification_id"]] = dict(
                    notification_id=p["notification_id"], channel=p["channel"],
                    recipient=p["recipient"], subject=p["subject"], body=p["body"],
                    content=p.get("content"), source_service=p["source_service"],
                    source_event_type=p["source_event_type"],
                    source_event_id=p["source_event_id"], notification_event_id=event.event_id,
                    correlation_id=event.metadata.get("correlation_id"), status="pending",
                    attempts=0, target=None, last_error=None, next_attempt_at=at,
                    attempted_at=None, delivered_at=None, dead_at=None, recorded_at=at,
                    updated_at=at)
            return
        at = event.recorded_at
        if kind == "DeliveryAttempted":
            changes = dict(status="in_flight", attempts=p["attempt"], target=p["target"],
                           attempted_at=at)
        elif kind == "Delivered":
            changes = dict(status="delivered", delivered_at=at, next_attempt_at=None)
        elif kind == "DeliveryFailed":
            changes = dict(status="retrying", attempts=p["attempt"], last_error=p["error"],
                           next_attempt_at=p.get("retry_at"))
        elif kind == "DeliveryDeadLettered":
            changes = dict(status="dead", dead_at=at, next_attempt_at=None)
        else:  # DeliveryRedriven
            changes = dict(status="pending", dead_at=None, next_attempt_at=at)
        row = self.rows.get(p["notification_id"])
        if row is not None:
            row.update(changes, updated_at=at)

    def tables(self):
        return {"deliveries": _table(self.COLUMNS, self.rows.values())}


class _RegistryFold:
    SUBSCRIBERS = ("subscriber_id", "name", "url", "event_types", "secret_version", "active",
                   "version", "registered_at", "updated_at")

    event_types = frozenset({"SubscriberRegistered", "ContactEmailSet", "ContactEmailRemoved",
                             "SubscriberChanged", "SubscriberSecretRotated",
                             "SubscriberDeactivated"})

    def __init__(self):
        self.subscribers, self.contacts = {}, {}

    def apply(self, event):
        kind = event.event_type
        if kind not in self.event_types:
            return
        p, at, version = event.payload, event.recorded_at, event.stream_version
        if kind == "SubscriberRegistered":
            self.subscribers[p["subscriber_id"]] = dict(
                subscriber_id=p["subscriber_id"], name=p["name"], url=p["url"],
                event_types=list(p["event_types"]), secret_version=p["secret_version"],
                active=True, version=version, registered_at=at, updated_at=at)
            return
        if kind == "ContactEmailSet":
            self.contacts[p["recipient"]] = (p["recipient"], p["email"], at)
            return
        if kind == "ContactEmailRemoved":
            self.contacts.pop(p["recipient"], None)
            return
        if kind == "SubscriberChanged":
            changes = dict(name=p["name"], url=p["url"], event_types=list(p["event_types"]))
        elif kind == "SubscriberSecretRotated":
            changes = dict(secret_version=p["secret_version"])
        else:  # SubscriberDeactivated
            changes = dict(active=False)
        row = self.subscribers.get(p["subscriber_id"])
        if row is not None:
            row.update(changes, version=version, updated_at=at)

    def tables(self):
        columns, rows = _table(self.SUBSCRIBERS, self.subscribers.values())
        at = columns.index("event_types")
        rows = [r[:at] + (_array(r[at]),) + r[at + 1:] for r in rows]
        return {"subscribers": (columns, rows),
                "contacts": (("recipient", "email", "updated_at"), list(self.contacts.values()))}


class _RegisterFold:
    CANDIDATES = ("application_id", "applicant", "applicant_name", "county", "category",
                  "round_year", "status", "notice_start", "notice_end", "working_days",
                  "objections", "talent_id", "certified_on", "updated_at")
    RESULTS = ("talent_id", "tenure_year", "result", "assessed_on", "applicant_name", "county",
               "category")

    event_types = frozenset({"CandidateNoted", "AssessmentResultAnnounced", "NoticePublished",
                             "CandidateCertified", "CandidateRejected", "CandidateWithdrawn",
                             "ObjectionNoted", "ObjectionCleared"})

    def __init__(self):
        self.candidates, self.results = {}, {}
        self.certified = {}  # talent_id -> its candidate (talent_id is UNIQUE in candidates)

    def apply(self, event):
        kind = event.event_type
        if kind not in self.event_types:
            return
        p, at = event.payload, event.recorded_at
        if kind == "CandidateNoted":
            self._forget(self.candidates.get(p["application_id"]))
            self.candidates[p["application_id"]] = dict(
                application_id=p["application_id"], applicant=p["applicant"],
                applicant_name=p["applicant_name"], county=p["county"],
                category=p["category"], round_year=p["round_year"], status="noted",
                notice_start=None, notice_end=None, working_days=None, objections=[],
                talent_id=None, certified_on=None, updated_at=at)
            return
        if kind == "AssessmentResultAnnounced":
            c = self.certified.get(p["talent_id"])
            if c is not None:
                self.results[(p["talent_id"], p["tenure_year"])] = (
                    p["talent_id"], p["tenure_year"], p["result"], p["assessed_on"],
                    c["applicant_name"], c["county"], c["category"])
            return
        row = self.candidates.get(p.get("application_id"))
        if row is None:
            return
        if kind == "NoticePublished":
            if row["status"] == "noted":
                row["status"] = "suspended" if row["objections"] else "on_notice"
            row.update(notice_start=p["start_date"], notice_end=p["end_date"],
                       working_days=p["working_days"], updated_at=at)
        elif kind == "CandidateCertified":
            self._forget(row)
            row.update(status="certified", talent_id=p["talent_id"],
                       certified_on=p["certified_on"], updated_at=at)
            self.certified[row["talent_id"]] = row
        elif kind in ("CandidateRejected", "CandidateWithdrawn"):
            row.update(status="rejected" if kind == "CandidateRejected" else "withdrawn",
                       updated_at=at)
        elif kind in ("ObjectionNoted", "ObjectionCleared"):
            if kind == "ObjectionNoted":
                row["objections"] = row["objections"] + [p["objection_id"]]
            else:
                row["objections"] = [o for o in row["objections"] if o != p["objection_id"]]
            row["updated_at"] = at
            if row["status"] == "on_notice" and row["objections"]:
                row["status"] = "suspended"
            elif row["status"] == "suspended" and not row["objections"]:
                row["status"] = "on_notice"

    def _forget(self, row):
        if row is not None and self.certified.get(row["talent_id"]) is row:
            del self.certified[row["talent_id"]]

    def tables(self):
        columns, rows = _table(self.CANDIDATES, self.candidates.values())
        at = columns.index("objections")
        rows = [r[:at] + (_array(r[at]),) + r[at + 1:] for r in rows]
        return {"candidates": (columns, rows),
                "assessment_results": (self.RESULTS, list(self.results.values()))}


READ_MODELS = [InboxView(), DeliveriesView(), RegistryView(), RegisterView()]
