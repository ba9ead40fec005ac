"""Whom a spreadsheet row is about: a new customer, an update of the one customer its identities point at, or a
conflict that nothing is written for.

An import must never fold one person into another. A row is a conflict when its identities point at different
customers (its mobile is A's, its VIN is B's), or when they point at one customer whose name is clearly someone
else's (the VIN of 邹海燕's car on a row for 钱多多: a typo in the VIN or a car that changed hands, either way not
for a machine to decide). Staff resolve those by hand — correct the row, or transfer the car — and import it again.

The same rules serve the preview (nothing written) and the job, so what the preview promises is what the job does.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _

from .mapping import TARGETS

NEW, UPDATE, CONFLICT = "new", "update", "conflict"
# a form of address after a family name: 王先生, 李女士, 张总, 陈师傅
_ADDRESS = re.compile(r"(先生|女士|小姐|太太|老师|总|经理|师傅|老板)$")
_SEPARATORS = re.compile(r"[\s·•.,，。_\-()（）]+")


@dataclass(frozen=True)
class Match:
    """What a row is. `customer_id` is the customer it updates (or, in the preview, minus the number of an earlier row
    of the file that creates that person); `matched_by` the identity kinds that found them; `reason` says why a
    conflict is one, in the user's language."""

    outcome: str
    customer_id: int | None = None
    matched_by: tuple[str, ...] = ()
    reason: str | None = None
    found: dict = field(default_factory=dict)


def _plain(name: str | None) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", name or "")).casefold()


def names_agree(row_name: str | None, known_name: str | None) -> bool:
    """True unless the two names are clearly different people's. Spacing, width and case do not count; a form of
    address agrees with a full name of the same family (王先生 / 王建国); Latin names may come in either order."""
    a, b = _plain(row_name), _plain(known_name)
    if not a or not b or a == b:
        return True
    for short, full in ((a, b), (b, a)):
        address = _ADDRESS.search(short)
        if address and address.start() > 0 and full.startswith(short[:address.start()]):
            return True
    words = lambda name: sorted(w.casefold() for w in re.split(r"[\s,，]+", unicodedata.normalize("NFKC", name)) if w)
    return words(row_name or "") == words(known_name or "")


def _kind_label(kind: str) -> str:
    return str(TARGETS[kind][0]) if kind in TARGETS else kind


def _who(customer_id: int, names: dict) -> str:
    if customer_id < 0:
        return _("row %(row)d (%(name)s)", row=-customer_id, name=names.get(customer_id) or "—")
    if customer_id not in names:
        return _("a customer of a store you cannot see")
    return _("%(name)s (customer no. %(id)d)", name=names[customer_id] or "—", id=customer_id)


def match(row_name: str | None, found: dict, owners: dict, names: dict) -> Match:
    """The row with name `row_name` and identities `found` ({kind: normal form}), given `owners`
    ({(kind, value): customer id} of those already taken) and `names` ({customer id: name} of the owners the user
    may see)."""
    by_customer: dict[int, list[str]] = {}
    for kind, value in found.items():
        owner = owners.get((kind, value))
        if owner is not None:
            by_customer.setdefault(owner, []).append(kind)
    if not by_customer:
        return Match(NEW, found=found)
    if len(by_customer) > 1:
        parts = "; ".join(f"{', '.join(_kind_label(k) for k in kinds)} → {_who(cid, names)}"
                          for cid, kinds in sorted(by_customer.items(), key=lambda pair: pair[1]))
        return Match(CONFLICT, reason=_("The row's details belong to different customers: %(parts)s. Nothing was "
                                        "written for this row.", parts=parts), found=found)
    (customer_id, kinds), = by_customer.items()
    if customer_id > 0 and customer_id not in names:
        return Match(CONFLICT, customer_id, tuple(kinds), _("This person is a customer of a store you cannot see."),
                     found)
    if not names_agree(row_name, names.get(customer_id)):
        return Match(CONFLICT, customer_id, tuple(kinds), _(
            "%(kinds)s belongs to %(who)s, but this row's name is %(name)s. Nothing was written for this row: "
            "correct the row, or the record, and import it again.",
            kinds=", ".join(_kind_label(k) for k in kinds), who=_who(customer_id, names), name=row_name or "—"), found)
    return Match(UPDATE, customer_id, tuple(kinds), found=found)


def describe(result: Match, names: dict) -> str:
    """One line for the preview: new / update of whom, matched by what."""
    if result.outcome == NEW:
        return _("New customer")
    if result.outcome == UPDATE:
        kinds = ", ".join(_kind_label(k) for k in result.matched_by)
        if result.customer_id < 0:
            return _("The same person as %(who)s, found by %(kinds)s", who=_who(result.customer_id, names), kinds=kinds)
        return _("%(who)s, found by %(kinds)s", who=_who(result.customer_id, names), kinds=kinds)
    return result.reason or ""
