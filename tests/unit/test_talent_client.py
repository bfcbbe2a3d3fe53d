"""The demo and test client's made-up data is what the services accept, and the subsidy it budgets
for is the one the subsidies service grants."""

from __future__ import annotations

import datetime as dt
import random

from services.applications.identity import credit_code_error, id_birth_date, id_number_error
from services.subsidies.domain.policy import LT_ENTREPRENEURSHIP_SUBSIDY_FEN
from talent_client.samples import COUNTY_CODES, fake_credit_code, fake_id_number
from talent_client.steps import LT_10_1_SUBSIDY_FEN


def test_the_budgeted_subsidy_is_the_one_the_policy_grants():
    assert LT_10_1_SUBSIDY_FEN == LT_ENTREPRENEURSHIP_SUBSIDY_FEN


def test_made_up_identities_pass_the_services_checks():
    rng = random.Random(17)
    birth = dt.date(1990, 2, 28)
    for county, code in COUNTY_CODES.items():
        id_number = fake_id_number(birth, county, rng)
        assert id_number_error(id_number) is None and id_number.startswith(code)
        assert id_birth_date(id_number) == birth
        credit_code = fake_credit_code(county, rng)
        assert credit_code_error(credit_code) is None and credit_code[2:8] == code
