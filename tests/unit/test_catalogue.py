"""The committed event catalogue is what the contracts generate."""

from shared.contracts import catalogue, load_all


def test_committed_catalogue_is_current():
    assert catalogue.main(["--check"]) == 0, "run `make catalogue` and commit the result"


def test_every_contract_is_in_the_catalogue():
    doc = catalogue.document()
    assert set(doc["components"]["messages"]) == set(load_all().latest)
    certified = doc["components"]["messages"]["TalentCertified"]["payload"]
    assert certified["properties"]["track"]["enum"] == ["influencer", "seller"]
    assert "talent_id" in certified["required"]
