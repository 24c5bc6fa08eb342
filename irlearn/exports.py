"""CSV downloads that spreadsheets open safely: the one formula guard every export uses."""

# What makes a spreadsheet run a cell as a formula. Exports hold text people typed: a question
# stem, or an address such as "=cmd|' /C calc'!A0@example.org", which is a valid one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """``value`` as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
