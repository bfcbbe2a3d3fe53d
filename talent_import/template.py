"""The import template: its sheets, and each sheet's columns with their Chinese and English
headers, types and whether they are required. ``docs/import-template.md`` describes the same."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str  # the English header
    zh: str  # the Chinese header
    kind: str  # text, int, date, yuan, bool
    required: bool = True

    @property
    def header(self) -> str:
        """The header the template writes: ``中文 / english``."""
        return f"{self.zh} / {self.key}"


@dataclass(frozen=True)
class Sheet:
    name: str
    zh: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


def _c(key: str, zh: str, kind: str = "text", required: bool = True) -> Column:
    return Column(key, zh, kind, required)


SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "rounds",
        "评选年度",
        (
            _c("year", "年度", "int"),
            _c("quota", "名额", "int"),
            _c("window_opens", "申报开始日期", "date"),
            _c("window_closes", "申报截止日期", "date"),
            _c("opened_on", "发布日期", "date", False),
        ),
    ),
    Sheet(
        "funds",
        "资金预算",
        (
            _c("source", "资金来源", "text"),
            _c("fiscal_year", "财政年度", "int"),
            _c("amount_yuan", "预算金额（元）", "yuan"),
            _c("reference", "文号", "text"),
            _c("set_on", "下达日期", "date"),
        ),
    ),
    Sheet(
        "talents",
        "认定人才",
        (
            _c("ref", "编号", "text"),
            _c("round_year", "评选年度", "int"),
            _c("county", "县市", "text"),
            _c("name", "姓名", "text"),
            _c("gender", "性别", "text"),
            _c("id_number", "身份证号", "text"),
            _c("phone", "联系电话", "text"),
            _c("category", "认定类别", "text"),
            _c("enterprise_name", "企业名称", "text"),
            _c("credit_code", "统一社会信用代码", "text"),
            _c("sales_yuan", "上年度销售额（元）", "yuan", False),
            _c("sales_year_before_yuan", "前年度销售额（元）", "yuan", False),
            _c("jobs_driven", "带动就业人数", "int", False),
            _c("tax_paid_yuan", "纳税额（元）", "yuan", False),
            _c("followers", "粉丝数", "int", False),
            _c("exposure", "曝光量", "int", False),
            _c("account_registered_on", "账号注册日期", "date", False),
            _c("expert_score", "专家评审得分", "int"),
            _c("submitted_on", "申报日期", "date"),
            _c("notice_start", "公示开始日期", "date"),
            _c("certified_on", "认定日期", "date"),
            _c("file_ref", "档案号", "text"),
        ),
    ),
    Sheet(
        "transfers",
        "怡乡人才转入",
        (
            _c("yixiang_talent_id", "怡乡人才编号", "text"),
            _c("name", "姓名", "text"),
            _c("id_number", "身份证号", "text"),
            _c("county", "县市", "text"),
            _c("category", "认定类别", "text"),
            _c("enterprise_name", "企业名称", "text"),
            _c("credit_code", "统一社会信用代码", "text"),
            _c("baseline_year", "基准年度", "int"),
            _c("baseline_sales_yuan", "基准销售额（元）", "yuan", False),
            _c("baseline_followers", "基准粉丝数", "int", False),
            _c("baseline_exposure", "基准曝光量", "int", False),
            _c("period_start", "培养期开始", "date"),
            _c("period_end", "培养期结束", "date"),
            _c("prior_startup_subsidy_yuan", "已领创业补贴（元）", "yuan", False),
        ),
    ),
    Sheet(
        "payments",
        "补贴发放",
        (
            _c("talent", "人才编号", "text"),
            _c("paid_on", "发放日期", "date"),
            _c("payment_reference", "支付凭证号", "text"),
        ),
    ),
    Sheet(
        "reports",
        "年度考核",
        (
            _c("talent", "人才编号", "text"),
            _c("tenure_year", "考核年度（第几年）", "int"),
            _c("reported_on", "报告日期", "date"),
            _c("sales_yuan", "销售额（元）", "yuan", False),
            _c("followers", "粉丝数", "int", False),
            _c("exposure", "曝光量", "int", False),
            _c("promotion_activities", "宣传推介活动次数", "int"),
            _c("backbones_trained", "培养骨干人数", "int"),
            _c("full_time_in_chuxiong", "全职在楚", "bool"),
        ),
    ),
    Sheet(
        "disqualifications",
        "取消资格",
        (
            _c("talent", "人才编号", "text"),
            _c("kind", "事由类别", "text"),
            _c("occurred_on", "发生日期", "date"),
            _c("description", "事由", "text"),
            _c("reference", "文号", "text", False),
            _c("reported_on", "报告日期", "date"),
            _c("decided_on", "领导小组决定日期", "date"),
        ),
    ),
    Sheet(
        "repayments",
        "追回补贴",
        (
            _c("talent", "人才编号", "text"),
            _c("amount_yuan", "退回金额（元）", "yuan"),
            _c("reference", "退款凭证号", "text"),
            _c("repaid_on", "退回日期", "date"),
        ),
    ),
    Sheet(
        "claims",
        "十条措施申领",
        (
            _c("measure", "措施", "text"),
            _c("party_id", "申领人编号", "text"),
            _c("party_name", "申领人名称", "text"),
            _c("ecommerce", "从事电子商务", "bool"),
            _c("filed_on", "申领日期", "date"),
            _c("graduated_on", "毕业日期", "date"),
            _c("founded_on", "创办日期", "date"),
            _c("entity_name", "创办实体名称", "text"),
            _c("in_prefecture", "在州内创办", "bool"),
            _c("effects", "示范效果", "text"),
            _c("requested_yuan", "申请金额（元）", "yuan"),
            _c("decided_on", "审批日期", "date", False),
            _c("paid_on", "发放日期", "date", False),
            _c("payment_reference", "支付凭证号", "text", False),
        ),
    ),
)
"""The sheets, in the order the import writes them (a later sheet refers to an earlier one)."""

BY_NAME = {s.name: s for s in SHEETS}
BY_ZH = {s.zh: s for s in SHEETS}
