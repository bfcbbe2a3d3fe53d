"""Plain HTML pages of the public feeds (公示 and the assessment results announcement), for anyone
with a browser; the same rows as the JSON feeds. Everything shown is escaped."""

from html import escape

from services.notifications.domain.messages import PROGRAMME, day

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #999;padding:.3em .6em;text-align:left}"
)


def _page(title, intro, headers, rows, empty):
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    table = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if rows
        else f"<p>{escape(empty)}</p>"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(intro)}</p>{table}</body></html>\n"
    )


STATUS_ZH = {
    "on_notice": "公示中",
    "suspended": "收到异议，核查期间暂缓认定",
    "certified": "已认定",
    "rejected": "未予认定",
    "withdrawn": "已撤回申报",
}


def notices_page(notices, today):
    rows = [
        (
            n["name"],
            n["county"],
            n["category_name"],
            day(n["start_date"]),
            day(n["end_date"]),
            n["working_days"],
            STATUS_ZH.get(n["status"], n["status"]),
        )
        for n in notices
    ]
    return _page(
        f"{PROGRAMME}人选公示",
        f"以下为{PROGRAMME}人选公示（《实施细则》第九条第五项，公示期不少于五个工作日）。"
        f"截至 {day(today)}。",
        ("姓名", "县市", "类别", "公示开始", "公示结束", "工作日", "状态"),
        rows,
        "目前没有正在公示的人选。",
    )


def results_page(year, results):
    rows = [
        (
            r["name"],
            r["county"],
            r["category_name"],
            r["tenure_year"],
            r["result_name"],
            day(r["assessed_on"]),
        )
        for r in results
    ]
    return _page(
        f"{year}年度{PROGRAMME}考核结果通报",
        "考核结果由州商务局通报（《实施细则》第十一条第一项）。",
        ("姓名", "县市", "类别", "培养期第几年", "考核结果", "考核日期"),
        rows,
        f"{year}年度暂无考核结果。",
    )
