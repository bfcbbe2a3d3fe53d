"""The registry (webhook subscribers, e-mail contacts) and the public register (candidates on
notice, assessment results), their input validation, and webhook signing."""

import datetime as dt
import time

import marshmallow
import orjson
import pytest
from givenwhenthen import NewEvent, context, given, then, when

from services.notifications import schemas
from services.notifications.channels import (
    sign,
    signature_header,
    subscriber_secret,
    verify_signature,
)
from services.notifications.domain import recipients, register
from services.notifications.domain.errors import StateConflict
from services.notifications.domain.messages import PartiesUnknown
from services.notifications.domain.policy import SECRET_ROTATION_OVERLAP_SECONDS
from shared.errors import InvalidInput

D = dt.date
SUB = "5f0c2a4e-0d7b-4c57-8d0e-2b1f5a9c3e71"


# -- subscribers ---------------------------------------------------------------------------------
def registered(**kw):
    payload = {
        "subscriber_id": SUB,
        "name": "州人社局",
        "url": "https://hr.cx.gov.cn/hook",
        "event_types": ["SubsidyPaid", "TalentCertified"],
        "secret_version": 1,
    }
    return NewEvent("SubscriberRegistered", {**payload, **kw})


def test_register_sorts_and_dedupes_event_types_and_starts_at_secret_version_1():
    command = recipients.Register(
        SUB,
        "州人社局",
        "https://hr.cx.gov.cn/hook",
        ("TalentCertified", "SubsidyPaid", "TalentCertified"),
    )
    then(when(recipients.subscriber, given(recipients.subscriber), command), registered())


def test_register_twice_is_a_conflict():
    with pytest.raises(StateConflict):
        when(
            recipients.subscriber,
            given(recipients.subscriber, registered()),
            recipients.Register(SUB, "x", "https://x.cn", ("SubsidyPaid",)),
        )


def test_change_rotate_deactivate():
    state = given(recipients.subscriber, registered())
    change = recipients.Change("州人社局", "https://hr2.cx.gov.cn/hook", ("TalentCertified",))
    then(
        when(recipients.subscriber, state, change),
        NewEvent(
            "SubscriberChanged",
            {
                "subscriber_id": SUB,
                "name": "州人社局",
                "url": "https://hr2.cx.gov.cn/hook",
                "event_types": ["TalentCertified"],
            },
        ),
    )
    same = recipients.Change(
        "州人社局", "https://hr.cx.gov.cn/hook", ("TalentCertified", "SubsidyPaid")
    )
    assert when(recipients.subscriber, state, same) == []
    then(
        when(recipients.subscriber, state, recipients.RotateSecret()),
        NewEvent(
            "SubscriberSecretRotated",
            {
                "subscriber_id": SUB,
                "secret_version": 2,
                # the old secret signs beside the new one for SECRET_ROTATION_OVERLAP_SECONDS
                "previous_secret_version": 1,
                "previous_valid_until": (
                    context()["now"] + dt.timedelta(seconds=SECRET_ROTATION_OVERLAP_SECONDS)
                )
                .astimezone(dt.UTC)
                .isoformat(timespec="microseconds"),
            },
        ),
    )
    deactivated = NewEvent("SubscriberDeactivated", {"subscriber_id": SUB})
    then(when(recipients.subscriber, state, recipients.Deactivate()), deactivated)
    gone = given(recipients.subscriber, registered(), deactivated)
    assert when(recipients.subscriber, gone, recipients.Deactivate()) == []
    with pytest.raises(StateConflict, match="deactivated"):
        when(recipients.subscriber, gone, change)


# -- contacts --------------------------------------------------------------------------------------
def test_contact_set_change_remove():
    contact = recipients.contact
    first = NewEvent("ContactEmailSet", {"recipient": "county:楚雄市", "email": "sw@cx.gov.cn"})
    then(when(contact, given(contact), recipients.SetEmail("county:楚雄市", "sw@cx.gov.cn")), first)
    assert (
        when(contact, given(contact, first), recipients.SetEmail("county:楚雄市", "sw@cx.gov.cn"))
        == []
    )
    then(
        when(contact, given(contact, first), recipients.RemoveEmail("county:楚雄市")),
        NewEvent("ContactEmailRemoved", {"recipient": "county:楚雄市"}),
    )
    assert when(contact, given(contact), recipients.RemoveEmail("county:楚雄市")) == []


# -- input validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["https://hr.cx.gov.cn/hook", "http://127.0.0.1:8080/x?y=1", "http://localhost/hook"]
)
def test_valid_webhook_urls(url):
    schemas.webhook_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x.cn/hook",
        "hr.cx.gov.cn/hook",
        "https://",
        "https://user:pw@x.cn/hook",
        "https://x.cn/hook#frag",
        "http://x.cn:99999/",
        "https://x.cn/a b",
        "javascript:alert(1)",
        "https://x.cn/" + "a" * 2000,
    ],
)
def test_invalid_webhook_urls(url):
    with pytest.raises(marshmallow.ValidationError):
        schemas.webhook_url(url)


def test_subscription_refuses_unknown_event_types_naming_the_field():
    with pytest.raises(marshmallow.ValidationError) as info:
        schemas.Subscription().load(
            {
                "name": "x",
                "url": "https://x.cn/h",
                "event_types": ["TalentCertified", "NoSuchEvent"],
            }
        )
    assert list(info.value.messages) == ["event_types"]
    assert list(info.value.messages["event_types"]) == [1]


def test_subscribable_event_types_are_the_notified_ones():
    assert {"TalentCertified", "SubsidyPaid", "AssessmentFailed"} <= set(
        schemas.NOTIFIABLE_EVENT_TYPES
    )
    assert "NotificationRecorded" not in schemas.NOTIFIABLE_EVENT_TYPES


@pytest.mark.parametrize(
    "address",
    ["bureau", "finance", "leading_group", "county:楚雄市", "talent:talent-1", "applicant:u-1"],
)
def test_recipient_addresses(address):
    assert schemas.recipient_address(address) == address


@pytest.mark.parametrize(
    "address",
    ["", "mayor", "county:", "talent: x", "subscriber:s-1", "bureau:x", "county:" + "楚" * 201],
)
def test_not_recipient_addresses(address):
    with pytest.raises(InvalidInput) as info:
        schemas.recipient_address(address)
    assert list(info.value.fields) == ["recipient"]


# -- the public register -------------------------------------------------------------------------
def noted(applicant="applicant:u-li"):
    return NewEvent(
        "CandidateNoted",
        {
            "application_id": "app-1",
            "applicant": applicant,
            "applicant_name": "李明",
            "county": "楚雄市",
            "category": "LT-6.3",
            "round_year": 2026,
        },
        ("LT-9.1",),
    )


def source(event_type, payload, **kw):
    service = "assessment" if event_type.startswith("Assessment") else "applications"
    return register.Source(service, event_type, payload, **kw)


SUBMITTED = {
    "application_id": "app-1",
    "round_year": 2026,
    "county": "楚雄市",
    "applicant_name": "李明",
    "enterprise_name": "e",
    "category": "LT-6.3",
    "evidence": {},
    "submitted_on": D(2026, 3, 2),
}


@pytest.mark.parametrize(
    "extra, actor, role, address",
    [
        ({"applicant_id": "u-li"}, "county_officer-1", "county_officer", "applicant:u-li"),
        ({}, "u-li", "applicant", "applicant:u-li"),
        ({}, "county_officer-1", "county_officer", "applicant:app-1"),
    ],
)
def test_the_applicant_is_addressed_by_their_own_id_where_known(extra, actor, role, address):
    decider, key, command = register.REGISTER[("applications", "ApplicationSubmitted")](
        source("ApplicationSubmitted", {**SUBMITTED, **extra}, actor_id=actor, actor_role=role)
    )
    assert (decider, key) == (register.candidate, "app-1")
    then(when(decider, given(decider), command), noted(address))


def test_notice_then_certification():
    notice = {
        "application_id": "app-1",
        "start_date": D(2026, 9, 29),
        "end_date": D(2026, 10, 13),
        "working_days": 5,
    }
    _, _, publish = register.REGISTER[("applications", "PublicNoticeStarted")](
        source("PublicNoticeStarted", notice)
    )
    state = given(register.candidate, noted())
    published = NewEvent("NoticePublished", notice, ("LT-9.5",))
    then(when(register.candidate, state, publish), published)
    certified = {
        "talent_id": "talent-1",
        "application_id": "app-1",
        "applicant_name": "李明",
        "county": "楚雄市",
        "category": "LT-6.3",
        "track": "seller",
        "baseline_year": 2025,
        "baseline": {},
        "period_start": D(2026, 10, 20),
        "period_end": D(2029, 10, 19),
    }
    _, _, certify = register.REGISTER[("applications", "TalentCertified")](
        source("TalentCertified", certified)
    )
    then(
        when(register.candidate, given(register.candidate, noted(), published), certify),
        NewEvent(
            "CandidateCertified",
            {"application_id": "app-1", "talent_id": "talent-1", "certified_on": D(2026, 10, 20)},
            ("LT-9.5", "LT-10"),
        ),
    )


def test_a_certification_of_an_application_never_seen_notes_the_candidate_from_it():
    """A talent transferred under LT-16 was never an application here."""
    certified = {
        "talent_id": "talent-9",
        "application_id": "yixiang-7",
        "applicant_name": "王芳",
        "county": "禄丰市",
        "category": "LT-6.2",
        "track": "seller",
        "baseline_year": 2021,
        "baseline": {},
        "period_start": D(2022, 9, 1),
        "period_end": D(2024, 6, 30),
    }
    _, key, certify = register.REGISTER[("applications", "TalentCertified")](
        source("TalentCertified", certified)
    )
    events = when(register.candidate, given(register.candidate), certify)
    assert key == "yixiang-7"
    assert [e.event_type for e in events] == ["CandidateNoted", "CandidateCertified"]
    assert events[0].payload == {
        "application_id": "yixiang-7",
        "applicant": "applicant:yixiang-7",
        "applicant_name": "王芳",
        "county": "禄丰市",
        "category": "LT-6.2",
        "round_year": 2022,
    }


def test_rejection_closes_and_final_outcomes_stay():
    _, _, reject = register.REGISTER[("applications", "ReviewRejected")](
        source(
            "ReviewRejected", {"application_id": "app-1", "stage": "inspection", "reasons": ["x"]}
        )
    )
    rejected = NewEvent(
        "CandidateRejected", {"application_id": "app-1", "stage": "inspection"}, ("LT-9.4",)
    )
    then(when(register.candidate, given(register.candidate, noted()), reject), rejected)
    assert when(register.candidate, given(register.candidate, noted(), rejected), reject) == []


def test_events_about_an_unknown_application_wait_for_it():
    _, _, reject = register.REGISTER[("applications", "ReviewRejected")](
        source(
            "ReviewRejected", {"application_id": "app-1", "stage": "inspection", "reasons": ["x"]}
        )
    )
    with pytest.raises(PartiesUnknown, match="app-1"):
        when(register.candidate, given(register.candidate), reject)


@pytest.mark.parametrize(
    "event_type, extra, result",
    [
        ("AssessmentPassed", {"grade": "excellent"}, "excellent"),
        ("AssessmentPassed", {"grade": "qualified"}, "qualified"),
        ("AssessmentFailed", {"reasons": ["x"]}, "unqualified"),
    ],
)
def test_assessment_results_are_announced_once_per_year(event_type, extra, result):
    payload = {"talent_id": "talent-1", "tenure_year": 2, "computation": [], **extra}
    decider, key, command = register.REGISTER[("assessment", event_type)](
        source(event_type, payload, on=D(2028, 11, 30))
    )
    assert (decider, key) == (register.results, "talent-1")
    announced = NewEvent(
        "AssessmentResultAnnounced",
        {
            "talent_id": "talent-1",
            "tenure_year": 2,
            "result": result,
            "assessed_on": D(2028, 11, 30),
        },
        ("LT-11.1",),
    )
    then(when(decider, given(decider), command, who={"county": "楚雄市"}), announced)
    assert when(decider, given(decider, announced), command, who={"county": "楚雄市"}) == []
    with pytest.raises(PartiesUnknown):
        when(decider, given(decider), command, who={})


# -- signing ---------------------------------------------------------------------------------------
BODY = '{"delivery_id":"e:7","message":"李明已被认定"}'.encode()


def test_signature_is_standard_webhooks_hmac_sha256_over_id_timestamp_body():
    import base64
    import hashlib
    import hmac

    secret = subscriber_secret("key", SUB, 1)
    key = hmac.new(b"key", f"webhook-secret:{SUB}:1".encode(), hashlib.sha256).digest()
    assert secret == "whsec_" + base64.b64encode(key).decode()
    expected = hmac.new(key, b"e:7.1790000000." + BODY, hashlib.sha256).digest()
    assert sign(secret, "e:7", 1790000000, BODY) == "v1," + base64.b64encode(expected).decode()


def test_a_standard_webhooks_receiver_verifies_what_is_signed():
    """The reference library of the Standard Webhooks specification verifies our signatures,
    with either secret during a rotation's overlap (both sign) and not with a third."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    old, new = subscriber_secret("key", SUB, 1), subscriber_secret("key", SUB, 2)
    now = int(time.time())
    headers = {
        "webhook-id": "e:7",
        "webhook-timestamp": str(now),
        "webhook-signature": signature_header([new, old], "e:7", now, BODY),
    }
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers) == orjson.loads(BODY)
        assert verify_signature(secret, "e:7", str(now), BODY, headers["webhook-signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(subscriber_secret("key", SUB, 3)).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(BODY + b" ", headers)


def test_a_receiver_verifies_and_refuses_tampering_replay_and_other_secrets():
    secret = subscriber_secret("key", SUB, 1)
    signature = sign(secret, "e:7", 1790000000, BODY)
    assert verify_signature(secret, "e:7", "1790000000", BODY, signature, now=1790000299)
    assert not verify_signature(secret, "e:7", "1790000000", BODY, signature, now=1790000301)
    assert not verify_signature(secret, "e:7", "1790000001", BODY, signature, now=1790000000)
    assert not verify_signature(secret, "e:8", "1790000000", BODY, signature, now=1790000000)
    assert not verify_signature(secret, "e:7", "1790000000", BODY + b" ", signature, now=1790000000)
    assert not verify_signature(
        subscriber_secret("key", SUB, 2), "e:7", "1790000000", BODY, signature, now=1790000000
    )
    assert not verify_signature(secret, "e:7", "soon", BODY, signature, now=1790000000)
    assert not verify_signature(secret, "e:7", "1790000000", BODY, None, now=1790000000)


def test_a_certification_handled_before_its_notice_keeps_the_notice_dates():
    """The source events come on separate queues: whatever order they are handled in, each fact
    is recorded once and the outcome stays final."""
    certified = NewEvent(
        "CandidateCertified",
        {"application_id": "app-1", "talent_id": "talent-1", "certified_on": D(2026, 10, 20)},
    )
    state = given(register.candidate, noted(), certified)
    publish = register.PublishNotice("app-1", D(2026, 9, 29), D(2026, 10, 13), 5)
    [published] = when(register.candidate, state, publish)
    assert published.event_type == "NoticePublished"
    assert (
        when(register.candidate, given(register.candidate, noted(), certified, published), publish)
        == []
    )
    reject = register.RejectCandidate("app-1", "public_notice")
    assert when(register.candidate, state, reject) == []


# -- who may read an inbox, or set an address --------------------------------------------------
def test_inbox_and_contact_authorisation():
    from shared.auth import Principal
    from shared.auth import may_address as _may_address
    from shared.auth import may_read_inbox as _may_read

    applicant_of = {"app-1": "u-li"}.get
    li = Principal("u-li", "applicant")
    assert _may_read(li, "applicant:u-li", applicant_of)
    assert _may_read(li, "applicant:app-1", applicant_of)  # their application's address
    assert not _may_read(li, "applicant:u-wang", applicant_of)
    assert not _may_read(li, "applicant:app-2", applicant_of)
    assert not _may_read(Principal("u-li", "talent"), "applicant:u-li", applicant_of)
    assert not _may_read(Principal("talent-1", "applicant"), "talent:talent-1", applicant_of)
    assert _may_read(Principal("talent-1", "talent"), "talent:talent-1", applicant_of)
    officer = Principal("co-1", "county_officer", "楚雄市")
    assert _may_read(officer, "county:楚雄市") and not _may_read(officer, "county:禄丰市")
    assert _may_read(Principal("a-1", "auditor"), "talent:talent-1")
    assert not _may_address(Principal("a-1", "auditor"), "talent:talent-1")
    assert _may_address(Principal("p-1", "prefecture_officer"), "county:禄丰市")
    assert _may_address(Principal("f-1", "finance"), "finance")
    assert not _may_address(Principal("f-1", "finance"), "bureau")
    assert _may_address(Principal("lg-1", "leading_group"), "leading_group")


def test_objections_and_withdrawal_in_the_register():
    raised = register.REGISTER[("applications", "ObjectionRaised")](
        source(
            "ObjectionRaised",
            {
                "application_id": "app-1",
                "objection_id": "o-1",
                "received_on": D(2026, 9, 30),
                "summary": "s",
                "source": "x",
            },
        )
    )[2]
    resolved = register.REGISTER[("applications", "ObjectionResolved")](
        source(
            "ObjectionResolved",
            {
                "application_id": "app-1",
                "objection_id": "o-1",
                "outcome": "dismissed",
                "finding": "f",
                "resolved_on": D(2026, 10, 2),
            },
        )
    )[2]
    noted_o = NewEvent(
        "ObjectionNoted", {"application_id": "app-1", "objection_id": "o-1"}, ("LT-9.5",)
    )
    cleared = NewEvent(
        "ObjectionCleared",
        {"application_id": "app-1", "objection_id": "o-1", "outcome": "dismissed"},
        ("LT-9.5",),
    )
    then(when(register.candidate, given(register.candidate, noted()), raised), noted_o)
    then(when(register.candidate, given(register.candidate, noted(), noted_o), resolved), cleared)
    assert (
        when(register.candidate, given(register.candidate, noted(), noted_o, cleared), resolved)
        == []
    )
    # the resolution handled before the objection: the objection is not noted as pending
    assert when(register.candidate, given(register.candidate, noted(), cleared), raised) == []
    withdraw = register.REGISTER[("applications", "ApplicationWithdrawn")](
        source(
            "ApplicationWithdrawn",
            {
                "application_id": "app-1",
                "reason": "r",
                "withdrawn_on": D(2026, 5, 1),
                "stage": "inspection",
            },
        )
    )[2]
    withdrawn = NewEvent("CandidateWithdrawn", {"application_id": "app-1"}, ("LT-9",))
    then(when(register.candidate, given(register.candidate, noted()), withdraw), withdrawn)
    assert (
        when(
            register.candidate,
            given(register.candidate, noted(), withdrawn),
            register.RejectCandidate("app-1", "inspection"),
        )
        == []
    )
