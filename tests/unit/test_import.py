"""talent-import without servers: reading the workbook and CSV, checking every row (errors name
sheet, row and column; one problem refuses the whole file), the plan of commands and their
provenance keys, and the provenance kept out of the metadata of events recorded live."""

import datetime as dt
import io
import json

import pytest

from shared.decider import NewEvent
from shared.errors import Forbidden, InvalidInput
from shared.provenance import import_uuid, parse
from shared.store import Metadata
from talent_import.plan import build
from talent_import.reader import read
from talent_import.template import SHEETS
from talent_import.workbook import write_csv, write_workbook
from tests.support.import_sample import history_rows

TODAY = dt.date(2025, 7, 21)


def plan_of(tmp_path, rows, name="h.xlsx", **kw):
    return build(read([write_workbook(tmp_path / name, rows)]), TODAY, **kw)


def test_the_sample_file_becomes_a_plan_of_the_services_commands(tmp_path):
    plan = plan_of(tmp_path, history_rows())
    assert plan.problems == []
    assert len(plan.talents) == 11
    kinds = [(s.sheet, s.step) for s in plan.steps]
    # per certified talent: the submission, seven stages, the notice and the certification
    assert kinds.count(("talents", "certify")) == 10
    assert kinds.count(("talents", "submit")) == 10
    assert [s for s in kinds if s[0] == "talents"][:10] == [("talents", "submit")] + [
        ("talents", f"review{i}") for i in range(1, 8)
    ] + [("talents", "notice"), ("talents", "certify")]
    sheets = [s.sheet for s in plan.steps]
    assert sheets.index("rounds") < sheets.index("talents") < sheets.index("payments")
    keys = [s.key(plan.sha256) for s in plan.steps]
    assert len(set(keys)) == len(keys)  # each command of each row is keyed once


def test_the_same_bytes_give_the_same_ids_and_keys(tmp_path):
    path = write_workbook(tmp_path / "h.xlsx", history_rows())
    first, second = (build(read([path]), TODAY) for _ in range(2))
    assert first.sha256 == second.sha256
    assert first.talents == second.talents
    assert [s.key(first.sha256) for s in first.steps] == [
        s.key(second.sha256) for s in second.steps
    ]
    assert import_uuid("a:b:1:c") == import_uuid("a:b:1:c") != import_uuid("a:b:2:c")


def test_csv_files_give_the_same_commands_as_the_workbook(tmp_path):
    rows = history_rows()
    book = plan_of(tmp_path, rows)
    (tmp_path / "csv").mkdir()
    csv_plan = build(read(write_csv(tmp_path / "csv", rows)), TODAY)
    assert csv_plan.problems == []
    # the same commands; only the ids made from the file's hash (the applications') differ
    assert csv_plan.sha256 != book.sha256
    assert [(s.sheet, s.row, s.step, s.body) for s in csv_plan.steps] == [
        (s.sheet, s.row, s.step, s.body) for s in book.steps
    ]


@pytest.mark.parametrize("header", ["zh", "key"])
def test_a_header_in_chinese_or_in_english_alone_is_read(tmp_path, header):
    rows = history_rows()
    (tmp_path / "csv").mkdir()
    paths = write_csv(tmp_path / "csv", {"rounds": rows["rounds"]})
    sheet = SHEETS[0]
    text = paths[0].read_text(encoding="utf-8-sig").splitlines()
    text[0] = ",".join(getattr(c, header) for c in sheet.columns)
    paths[0].write_text("\n".join(text) + "\n", encoding="utf-8")
    plan = build(read(paths), TODAY)
    assert plan.problems == [] and [s.body["year"] for s in plan.steps] == [2022, 2023]


def problems(plan):
    return [str(p) for p in plan.problems]


def test_a_problem_names_sheet_row_and_column_and_the_file_plans_nothing(tmp_path):
    rows = history_rows()
    rows["talents"][2]["certified_on"] = "2023-13-01"
    rows["payments"][0]["talent"] = "T-NOBODY"
    plan = plan_of(tmp_path, rows)
    assert plan.steps == []
    assert "talents row 4 column 认定日期 / certified_on: not a date (yyyy-mm-dd)" in problems(plan)
    assert (
        "payments row 2 column 人才编号 / talent: T-NOBODY is no talent of the talents or "
        "transfers sheet" in problems(plan)
    )


@pytest.mark.parametrize(
    ("sheet", "column", "value", "says"),
    [
        ("talents", "certified_on", TODAY + dt.timedelta(days=1), "is after today"),
        ("payments", "paid_on", dt.date(2022, 8, 31), "before the programme (2022-09-01"),
        ("reports", "reported_on", dt.date(9999, 12, 31), "is after today"),
        ("rounds", "window_closes", dt.date(9999, 12, 31), "is after today"),
        ("funds", "set_on", dt.date(2022, 1, 5), "before the programme (2022-09-01"),
    ],
)
def test_act_dates_out_of_bounds_refuse_the_file(tmp_path, sheet, column, value, says):
    rows = history_rows()
    rows[sheet][0][column] = value
    plan = plan_of(tmp_path, rows)
    assert plan.steps == []
    [problem] = [p for p in problems(plan) if f"/ {column}:" in p]
    assert problem.startswith(f"{sheet} row 2 column ") and says in problem


def tm5(**changes):
    claim = {
        "measure": "TM-5",
        "party_id": "grad-2021-001",
        "party_name": "毕业生创业",
        "ecommerce": "是",
        "filed_on": dt.date(2022, 6, 1),
        "graduated_on": dt.date(2021, 7, 1),
        "founded_on": dt.date(2022, 3, 1),
        "entity_name": "楚雄某网店",
        "in_prefecture": "是",
        "effects": "poverty_alleviation,innovation",
        "requested_yuan": 30_000,
    }
    return {**claim, **changes}


def test_a_ten_measures_claim_within_tm_1_is_planned_and_one_outside_refuses_the_file(tmp_path):
    rows = history_rows()
    rows["claims"] = [tm5(decided_on=dt.date(2022, 7, 1))]
    plan = plan_of(tmp_path, rows)
    assert plan.problems == []
    assert [s.step for s in plan.steps if s.sheet == "claims"] == ["file", "decide"]
    rows["claims"] = [tm5(filed_on=dt.date(2023, 3, 1))]
    plan = plan_of(tmp_path, rows, "late.xlsx")
    assert plan.steps == []
    assert any("claims row 2 column" in p and "TM-1" in p for p in problems(plan))


def test_the_service_schemas_check_rows_and_the_person_is_taken_once(tmp_path):
    rows = history_rows()
    rows["talents"][1]["id_number"] = rows["talents"][0]["id_number"]
    rows["talents"][3]["county"] = "昆明市"
    rows["talents"][4]["round_year"] = 2024
    rows["talents"][5]["expert_score"] = 101
    rows["talents"][6]["expert_score"] = 59
    plan = plan_of(tmp_path, rows)
    found = problems(plan)
    assert any("row 3 column 身份证号 / id_number: the same person as row 2" in p for p in found)
    assert any(p.startswith("talents row 5 column 县市 / county: county:") for p in found)
    assert any("row 6 column 评选年度 / round_year: no 2024 round" in p for p in found)
    assert any(
        p.startswith("talents row 7 column 专家评审得分 / expert_score: experts") for p in found
    )
    assert any(
        "row 8 column 专家评审得分 / expert_score: 59 is below the pass score" in p for p in found
    )
    assert plan.steps == []


def test_unknown_and_missing_columns_are_named(tmp_path):
    (tmp_path / "csv").mkdir()
    path = tmp_path / "csv" / "rounds.csv"
    path.write_text("年度 / year,名额 / quota,colour\n2022,10,red\n", encoding="utf-8")
    found = problems(build(read([path]), TODAY))
    assert "rounds row 1 column colour: not a column of this sheet" in found
    assert "rounds row 1 column 申报开始日期 / window_opens: required column missing" in found
    odd = tmp_path / "csv" / "people.csv"
    odd.write_text("a\n1\n", encoding="utf-8")
    assert problems(build(read([odd]), TODAY)) == [
        "people.csv: the file name names no sheet of the template"
    ]


def test_the_provenance_header_is_checked_field_by_field():
    good = (
        '{"source":"import","file_sha256":"' + "a" * 64 + '","sheet":"talents","row":3,'
        '"step":"certify","imported_by":"\\u738b\\u4e94"}'
    )
    p = parse(good, "prefecture_officer")
    assert p["imported_by"] == "王五" and p["key"] == f"{'a' * 64}:talents:3:certify"
    with pytest.raises(InvalidInput) as bad:
        parse(
            good.replace('"source":"import"', '"source":"live"').replace("}", ',"x":1}'),
            "county_officer",
        )
    fields = bad.value.fields["X-Talent-Provenance"]
    assert set(fields) == {"source", "x"}
    with pytest.raises(InvalidInput):
        parse("not json", "finance")
    with pytest.raises(Forbidden):  # a talent enters their own acts live, never as an import
        parse(good, "talent")


def test_metadata_carries_a_provenance_only_where_there_is_one():
    event = NewEvent("X", {}, ("LT-1",))
    live = Metadata("a", "r", "c").for_event(event)
    assert "provenance" not in live  # events recorded live hash as they always did
    imported = Metadata("a", "r", "c", provenance={"source": "import"}).for_event(event)
    assert imported["provenance"] == {"source": "import"}


def test_the_empty_template_reads_back_without_a_problem_and_check_writes_nothing(tmp_path):
    from talent_import import cli

    out = io.StringIO()
    assert cli.main(["template", str(tmp_path / "模板.xlsx")], out=out) == 0
    plan = build(read([tmp_path / "模板.xlsx"]), TODAY)
    assert (plan.problems, plan.steps) == ([], [])
    # --check of a file with a problem: exit 1, every problem printed, no service asked
    rows = history_rows()
    rows["rounds"][0]["quota"] = "ten"
    path = write_workbook(tmp_path / "bad.xlsx", rows)
    out = io.StringIO()
    assert cli.main([str(path), "--check", "--json"], out=out) == 1
    outcome = json.loads(out.getvalue())
    assert outcome["status"] == "refused"
    assert outcome["problems"] == ["rounds row 2 column 名额 / quota: not a whole number"]
