"""The parcel's parties: normalised party keys, how two keys link, and the history of seizures.

The service stores :func:`party_keys` with each scan and answers :class:`PartyHistory` over its
database (a confirmed verdict is a seizure linked to that scan's keys); :class:`InMemoryHistory`
does the same in memory, for tests and the benchmark.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from xscreen.serving.manifest import Manifest

ROLES = ("shipper", "consignee", "consignee_id", "address", "seller", "platform")
_FUZZY_ROLES = frozenset({"shipper", "consignee", "address"})   # ids link only when equal
_FUZZY_MIN_CHARS = 6          # shorter names ("li wei") link only when equal


@dataclass(frozen=True)
class SeizureRecord:
    """A confirmed seizure linked to a party key (as stored: ``role:normalised``)."""

    key: str
    labels: tuple[str, ...] = ()
    scan_id: str | None = None


class PartyHistory(Protocol):
    """What the risk score asks of earlier verdicts (the service implements it over its DB)."""

    def seizures(self, keys: Sequence[str]) -> list[SeizureRecord]:
        """Confirmed seizures linked to any of ``keys`` (fuzzily: see :func:`keys_link`)."""
        ...

    def parcels_seen(self, key: str) -> int:
        """Earlier parcels linked to ``key``."""
        ...


_COMPANY_SUFFIXES = frozenset({
    "ltd", "limited", "llc", "inc", "incorporated", "co", "corp", "corporation", "company",
    "gmbh", "mbh", "ag", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "plc", "pty", "pte",
    "kk", "oy", "ab", "as", "kg", "lp", "llp", "ltda", "the", "and"})
_ADDRESS_WORDS = {"street": "st", "road": "rd", "avenue": "ave", "apartment": "apt",
                  "building": "bldg", "floor": "fl", "number": "no", "strasse": "str"}


def normalise_name(text: str) -> str:
    """Fold a party name so spelling variants meet: accents dropped, case folded, punctuation
    and company suffixes (Ltd, GmbH, Co., ...) removed, whitespace collapsed."""
    words = fold_words(text)
    kept = [word for word in words if word not in _COMPANY_SUFFIXES]
    return " ".join(kept or words)


def normalise_address(text: str) -> str:
    """Fold an address: as :func:`normalise_name`, with common street words abbreviated."""
    return " ".join(_ADDRESS_WORDS.get(word, word) for word in fold_words(text))


def fold_words(text: str) -> list[str]:
    """The words of ``text`` with accents dropped and case folded (``Müller-Co.`` -> ``muller``,
    ``co``): what names, addresses and descriptions are compared by."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^\w]+|_", " ", plain).split()


def party_keys(manifest: Manifest) -> list[str]:
    """The manifest's normalised party keys: ``shipper:``, ``consignee:``, ``consignee_id:``,
    ``address:`` (the consignee's), ``seller:`` and ``platform:`` (those present)."""
    return list(party_names(manifest))


def party_names(manifest: Manifest) -> dict[str, str]:
    """Each party key of the manifest with the text it was folded from (for explanations)."""
    shipper, consignee = manifest.shipper, manifest.consignee
    candidates = [
        ("shipper", shipper.name if shipper else None, normalise_name),
        ("consignee", consignee.name if consignee else None, normalise_name),
        ("consignee_id", consignee.id if consignee else None, normalise_name),
        ("address", consignee.address if consignee else None, normalise_address),
        ("seller", manifest.seller_id, normalise_name),
        ("platform", manifest.platform, normalise_name),
    ]
    names = {}
    for role, text, fold in candidates:
        folded = fold(text) if text else ""
        if text and folded:
            names[f"{role}:{folded}"] = text
    return names


def keys_link(a: str, b: str, fuzzy_ratio: float = 0.88) -> bool:
    """Whether two party keys name the same party: same role and equal, or (names and
    addresses of 6+ characters) the same words in any order or a difflib ratio >= fuzzy_ratio."""
    role_a, _, text_a = a.partition(":")
    role_b, _, text_b = b.partition(":")
    if role_a != role_b:
        return False
    if text_a == text_b:
        return True
    if role_a not in _FUZZY_ROLES or min(len(text_a), len(text_b)) < _FUZZY_MIN_CHARS:
        return False
    if sorted(text_a.split()) == sorted(text_b.split()):
        return True
    matcher = difflib.SequenceMatcher(None, text_a, text_b, autojunk=False)
    return matcher.real_quick_ratio() >= fuzzy_ratio and matcher.ratio() >= fuzzy_ratio


def linked_keys(key: str, known: Iterable[str], fuzzy_ratio: float = 0.88) -> list[str]:
    """The keys among ``known`` that :func:`keys_link` to ``key`` (for PartyHistory stores)."""
    return [other for other in known if keys_link(key, other, fuzzy_ratio)]


class InMemoryHistory:
    """A :class:`PartyHistory` in memory, for tests and the benchmark."""

    def __init__(self, fuzzy_ratio: float = 0.88) -> None:
        self.fuzzy_ratio = fuzzy_ratio
        self._seizures: dict[str, list[SeizureRecord]] = defaultdict(list)
        self._seen: Counter[str] = Counter()
        self._links: dict[tuple[str, str], bool] = {}

    def record_parcel(self, keys: Iterable[str]) -> None:
        """Count a parcel for each of its party keys."""
        self._seen.update(set(keys))

    def record_seizure(self, keys: Iterable[str], labels: Sequence[str] = (),
                       scan_id: str | None = None) -> None:
        """A confirmed seizure (an operator's ``threat_confirmed`` verdict) linked to ``keys``."""
        for key in set(keys):
            self._seizures[key].append(SeizureRecord(key, tuple(labels), scan_id))

    def seizures(self, keys: Sequence[str]) -> list[SeizureRecord]:
        """Seizures whose key links to any of ``keys``."""
        return [record for stored in self._linked(keys, self._seizures)
                for record in self._seizures[stored]]

    def parcels_seen(self, key: str) -> int:
        """Parcels whose key links to ``key``."""
        return sum(self._seen[stored] for stored in self._linked([key], self._seen))

    def _linked(self, keys: Sequence[str], known: Iterable[str]) -> list[str]:
        stored = list(known)
        return [other for other in stored
                if any(self._link(key, other) for key in keys)]

    def _link(self, key: str, other: str) -> bool:
        """:func:`keys_link`, memoised (difflib is the slow part of scoring)."""
        pair = (key, other)
        if pair not in self._links:
            self._links[pair] = keys_link(key, other, self.fuzzy_ratio)
        return self._links[pair]
