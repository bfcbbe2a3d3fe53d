"""Money as the subsidies service writes it: integer fen, shown as yuan, and the lines of a
calculated amount, each citing its clause."""


def yuan(fen):
    """Fen as yuan text: 123456 -> '1,234.56'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def line(clause, description, amount_fen):
    """One line of a breakdown (a deduction is negative)."""
    return {"clause": clause, "description": description, "amount_fen": amount_fen}


def clauses_of(lines):
    """The clauses a breakdown cites, in order, once each."""
    return tuple(dict.fromkeys(x["clause"] for x in lines))
