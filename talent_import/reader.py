"""Reading the bureau's file: an ``.xlsx`` workbook (openpyxl), one sheet per template sheet, or
CSV files, each one sheet (named by the file name: ``talents.csv``). A sheet's first row holds
the headers (``中文 / english``, the Chinese or the English alone); every later row that is not
empty is one record, numbered as the spreadsheet numbers it."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talent_import.template import BY_NAME, BY_ZH, Sheet


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, where it is."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column {self.column}"
        return f"{where}: {self.message}"


@dataclass
class Source:
    """What was read: each sheet's rows (row number, {column key: cell value}) and the SHA-256 of
    the file's bytes (of the CSV files' bytes, in the order given, for CSV)."""

    sha256: str
    sheets: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _sheet_for(title: str) -> Sheet | None:
    title = title.strip()
    return BY_NAME.get(title.lower()) or BY_ZH.get(title)


def _header_key(sheet: Sheet, text: Any) -> str | None:
    label = str(text or "").strip()
    for column in sheet.columns:
        if label in (column.header, column.zh, column.key) or label.replace(" ", "") == (
            column.header.replace(" ", "")
        ):
            return column.key
    return None


def _take(source: Source, sheet: Sheet, rows: list[tuple[int, list[Any]]]) -> None:
    if sheet.name in source.sheets:
        source.problems.append(Problem(sheet.name, None, None, "the sheet is given twice"))
        return
    if not rows:
        source.sheets[sheet.name] = []
        return
    header_row, header = rows[0]
    keys: list[str | None] = []
    for i, text in enumerate(header):
        if text is None or str(text).strip() == "":
            keys.append(None)
            continue
        key = _header_key(sheet, text)
        if key is None:
            source.problems.append(
                Problem(sheet.name, header_row, str(text), "not a column of this sheet")
            )
        elif key in keys:
            source.problems.append(Problem(sheet.name, header_row, key, "the column is repeated"))
            key = None
        keys.append(key)
        del i
    for column in sheet.columns:
        if column.required and column.key not in keys:
            source.problems.append(
                Problem(sheet.name, header_row, column.header, "required column missing")
            )
    records = []
    for number, cells in rows[1:]:
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        record = {k: v for k, v in zip(keys, cells) if k is not None}
        records.append((number, record))
    source.sheets[sheet.name] = records


def read(paths: list[Path]) -> Source:
    """The sheets of ``paths`` (one ``.xlsx``, or ``.csv`` files)."""
    digest = hashlib.sha256()
    blobs = []
    for path in paths:
        data = path.read_bytes()
        digest.update(data)
        blobs.append((path, data))
    source = Source(digest.hexdigest())
    for path, data in blobs:
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            _read_xlsx(source, path, data)
        elif suffix == ".csv":
            sheet = _sheet_for(path.stem)
            if sheet is None:
                source.problems.append(
                    Problem(path.name, None, None, "the file name names no sheet of the template")
                )
                continue
            text = data.decode("utf-8-sig")
            rows = [(i, list(r)) for i, r in enumerate(csv.reader(io.StringIO(text)), start=1)]
            _take(source, sheet, rows)
        else:
            source.problems.append(Problem(path.name, None, None, "not an .xlsx or .csv file"))
    return source


def _read_xlsx(source: Source, path: Path, data: bytes) -> None:
    import openpyxl  # only an import of a workbook needs it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is refused the same way
        source.problems.append(Problem(path.name, None, None, f"not a readable workbook: {exc}"))
        return
    try:
        for ws in book.worksheets:
            sheet = _sheet_for(ws.title)
            if sheet is None:
                source.problems.append(Problem(ws.title, None, None, "not a sheet of the template"))
                continue
            rows = [
                (i, [_cell(c) for c in r])
                for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
            ]
            _take(source, sheet, rows)
    finally:
        book.close()


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value
