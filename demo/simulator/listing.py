"""The one filter/sort/page engine behind every ``…/list`` endpoint (A360_API §1, §8.2).

``fields`` maps each filterable field to its kind: ``num`` (compared as numbers), ``str``
(compared as strings; ``substring`` is case-insensitive), ``bool`` or ``time`` (instants).
A row value may be a list (e.g. a device's default user ids): a leaf matches if any element does.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable

from .errors import ApiError
from .rng import parse_ts

LEAF_OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "substring")
_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
            "gt": operator.gt, "ge": operator.ge}
DEFAULT_LENGTH = 100

Getter = Callable[[dict, str], object]


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", f"INVALID_ARGUMENT: {message}")


def _typed(kind: str, value: object) -> object:
    """Comparable form of ``value`` for a field kind; ``None`` when it cannot be converted."""
    if value is None:
        return None
    if kind == "num":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if kind == "bool":
        return str(value).strip().lower() == "true"
    if kind == "time":
        if isinstance(value, (int, float)):
            return float(value)
        return parse_ts(str(value))
    return str(value)


def _leaf(kind: str, op: str, value: object) -> Callable[[object], bool]:
    if op == "substring":
        needle = str(value).lower()

        def match_one(cell: object) -> bool:
            return cell is not None and needle in str(cell).lower()
    else:
        compare = _COMPARE[op]
        wanted = _typed(kind, value)
        wanted_text = str(value)

        def match_one(cell: object) -> bool:
            if cell is None:
                return op == "ne"
            typed = _typed(kind, cell)
            if wanted is None or typed is None:  # not convertible: fall back to text
                return compare(str(cell), wanted_text)
            return compare(typed, wanted)

    def match(cell: object) -> bool:
        if isinstance(cell, (list, tuple)):
            if op == "ne":
                return all(match_one(c) for c in cell)
            return any(match_one(c) for c in cell)
        return match_one(cell)

    return match


def compile_filter(spec: object, fields: dict[str, str], getter: Getter) -> Callable[[dict], bool]:
    """Predicate for a filter tree; raises ``ApiError`` 400 on a malformed tree or unknown field."""
    if spec is None or spec == {}:
        return lambda row: True
    if not isinstance(spec, dict):
        raise _invalid("filter debe ser un objeto")
    op = str(spec.get("operator", "")).lower()
    if op in ("and", "or", "not"):
        operands = spec.get("operands")
        if operands is None and op == "not" and "operand" in spec:
            operands = [spec["operand"]]
        if not isinstance(operands, list) or not operands:
            raise _invalid(f"el operador {op} necesita 'operands' (lista no vacía)")
        fast = _eq_set(op, operands, fields, getter)
        if fast is not None:
            return fast
        preds = [compile_filter(o, fields, getter) for o in operands]
        if op == "and":
            return lambda row: all(p(row) for p in preds)
        if op == "or":
            return lambda row: any(p(row) for p in preds)
        return lambda row: not all(p(row) for p in preds)
    if op not in LEAF_OPERATORS:
        raise _invalid(f"operador de filtro desconocido: {spec.get('operator')!r}")
    field = spec.get("field")
    if field not in fields:
        raise _invalid(f"campo de filtro desconocido: {field!r} (válidos: {', '.join(sorted(fields))})")
    if "value" not in spec:
        raise _invalid(f"falta 'value' en el filtro sobre {field}")
    match = _leaf(fields[field], op, spec["value"])
    return lambda row: match(getter(row, field))


def _eq_set(op: str, operands: list, fields: dict[str, str], getter: Getter) -> Callable[[dict], bool] | None:
    """Fast path for ``or`` of ``eq`` on one field (id batches): a set lookup per row."""
    if op != "or" or len(operands) < 4:
        return None
    names = {o.get("field") for o in operands if isinstance(o, dict)}
    if len(names) != 1 or not all(isinstance(o, dict) and str(o.get("operator", "")).lower() == "eq"
                                  and "value" in o for o in operands):
        return None
    field = names.pop()
    if field not in fields:
        raise _invalid(f"campo de filtro desconocido: {field!r} (válidos: {', '.join(sorted(fields))})")
    kind = fields[field]
    wanted = {_typed(kind, o["value"]) for o in operands}
    if None in wanted or kind == "bool":
        return None

    def match(row: dict) -> bool:
        cell = getter(row, field)
        cells = cell if isinstance(cell, (list, tuple)) else (cell,)
        return any(_typed(kind, c) in wanted for c in cells)

    return match


def _sort_key(kind: str, value: object) -> tuple:
    typed = _typed(kind, value) if not isinstance(value, (list, tuple)) else str(value)
    if typed is None:
        return (0, 0)
    if isinstance(typed, bool):
        return (1, int(typed))
    return (1, typed) if isinstance(typed, (int, float)) else (2, typed)


def sort_rows(rows: list[dict], sort_spec: object, fields: dict[str, str], getter: Getter) -> list[dict]:
    if sort_spec in (None, []):
        sort_spec = [{"field": "id", "direction": "desc"}]
    if not isinstance(sort_spec, list):
        raise _invalid("sort debe ser una lista")
    known = set(fields)
    for row in rows[:1]:
        known.update(row)
    ordered = list(rows)
    for item in reversed(sort_spec):
        if not isinstance(item, dict) or item.get("field") not in known:
            raise _invalid(f"campo de ordenación desconocido: {item!r}")
        direction = str(item.get("direction", "asc")).lower()
        if direction not in ("asc", "desc"):
            raise _invalid(f"dirección de ordenación no válida: {item.get('direction')!r}")
        field = item["field"]
        kind = fields.get(field, "num" if field == "id" else "str")
        ordered.sort(key=lambda r, f=field, k=kind: _sort_key(k, getter(r, f)), reverse=direction == "desc")
    return ordered


def _int(value: object, name: str) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _invalid(f"page.{name} debe ser un entero") from None
    return number


def page_bounds(page: object, max_length: int) -> tuple[int, int]:
    if page is None:
        return 0, min(DEFAULT_LENGTH, max_length)
    if not isinstance(page, dict):
        raise _invalid("page debe ser un objeto")
    offset = _int(page.get("offset", 0), "offset")
    length = _int(page.get("length", DEFAULT_LENGTH), "length")
    if offset < 0 or length < 1:
        raise _invalid("page.offset debe ser >= 0 y page.length >= 1")
    return offset, min(length, max_length)


def default_getter(row: dict, field: str) -> object:
    return row.get(field)


def list_response(rows: Iterable[dict], body: dict, fields: dict[str, str], *, max_length: int,
                  getter: Getter = default_getter, render: Callable[[dict], dict] | None = None,
                  cache: dict | None = None) -> dict:
    """Apply ``filter``, ``sort`` and ``page`` of a list request; exact ``total``/``totalFilter``.

    ``cache`` (owned by the caller and cleared whenever ``rows`` change) keeps the filtered,
    sorted list per (filter, sort), so paging through a big list sorts it once.
    """
    rows = list(rows)
    offset, length = page_bounds(body.get("page"), max_length)
    key = None
    if cache is not None:
        key = json.dumps([body.get("filter"), body.get("sort")], sort_keys=True, default=str)
    ordered = cache.get(key) if key is not None else None
    if ordered is None:
        predicate = compile_filter(body.get("filter"), fields, getter)
        matching = [r for r in rows if predicate(r)]
        ordered = sort_rows(matching, body.get("sort"), fields, getter)
        if key is not None:
            if len(cache) > 64:
                cache.clear()
            cache[key] = ordered
    chunk = ordered[offset:offset + length]
    return {"page": {"offset": offset, "total": len(rows), "totalFilter": len(ordered)},
            "list": [render(r) for r in chunk] if render else [dict(r) for r in chunk]}
