"""Two imports of one file at the same time record each of its rows once: both requests of one row
pass the first "already imported?" check before either has recorded anything; the second then
finds the first's events under the row's lock (``UnitOfWork.run``) and answers 200
``already_imported`` with them, nothing written twice."""

import json
import threading

import psycopg2
import pytest

from shared.locks import lock_key
from shared.provenance import import_key
from talent_client.http import Client
from talent_client.samples import application_body, shanghai_today
from talent_client.steps import open_round
from tests.support.faults import query, wait_until

pytestmark = pytest.mark.e2e
COUNTY = "楚雄市"


def test_one_row_imported_twice_at_once_is_recorded_once(system):
    year = shanghai_today().year
    open_round(Client(system.urls), year)
    sha = "ab" * 32
    provenance = {
        "source": "import",
        "file_sha256": sha,
        "sheet": "talents",
        "row": 7,
        "step": "submit",
        "imported_by": "州商务局档案室",
    }
    key = import_key(sha, "talents", 7, "submit")
    body = application_body(COUNTY, "赵六", "LT-6.3", shanghai_today(), year)
    # the row's lock held here: both requests get past the first check and wait
    holder = psycopg2.connect(system.dsn("applications"))
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (lock_key(f"import:{key}"),))
    answers = []

    def send():
        answers.append(
            Client(system.urls).call(
                "POST",
                "applications",
                "/applications",
                "county_officer",
                county=COUNTY,
                json=body,
                headers={"X-Talent-Provenance": json.dumps(provenance)},
                expect=None,
            )
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        waiting = wait_until(
            lambda: query(
                system.dsn("applications"),
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )[0][0],
            lambda n: n == 2,
            timeout=30,
        )
        assert waiting == 2, "both requests should wait for a lock"
    finally:
        holder.close()  # the lock goes with the session
    for t in threads:
        t.join(30)
    by_status = {r.status_code: r.json() for r in answers}
    assert sorted(by_status) == [200, 201], [(r.status_code, r.text) for r in answers]
    assert by_status[200]["already_imported"] is True
    recorded = query(
        system.dsn("applications"),
        "SELECT event_type, global_position FROM events"
        " WHERE metadata->'provenance'->>'key' = %s ORDER BY global_position",
        (key,),
    )
    assert [(e["type"], e["position"]) for e in by_status[200]["events"]] == recorded
    assert [t for t, _ in recorded].count("ApplicationSubmitted") == 1
