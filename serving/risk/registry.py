"""The rules' registry: each rule registered once, with its name, settings model and function.

A rule is a function ``(evidence, settings) -> list[Factor]``. ``evidence`` is what the parcel
says (:class:`~xscreen.serving.risk.facts.Evidence`); ``settings`` is the rule's own section of
``risk.yaml`` (the key is the rule's name), checked as the pydantic model the rule was
registered with, or None for a rule without a section. From the registry follow the
configuration's rule sections (:func:`~xscreen.serving.risk.config.config_model`), the factor
names ``factor_weights`` accepts (:meth:`Registry.is_factor_key`) and the order in which
factors are listed (the order of registration).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from xscreen.typedconfig import Strict

if TYPE_CHECKING:
    from xscreen.serving.risk.facts import Evidence

_NAME = re.compile(r"[a-z][a-z0-9_]*")       # a YAML key and the first part of a factor's name


@dataclass(frozen=True)
class Factor:
    """One rule's contribution: its name, points and a sentence for the operator."""

    name: str
    points: float
    detail: str


Settings = TypeVar("Settings", bound=Strict)
RuleFunction = Callable[["Evidence", Any], list[Factor]]


@dataclass(frozen=True)
class Rule:
    """A registered rule (see the module docstring)."""

    name: str
    function: RuleFunction
    settings: type[Strict] | None = None    # the model of its risk.yaml section; None: none
    factors: tuple[str, ...] = ()           # the names of its factors when not just ``name``
    parts: tuple[str, ...] = ()             # its factors are "<name>.<part>" (classes, roles)

    @property
    def factor_names(self) -> tuple[str, ...]:
        """The names its factors carry, without the parts."""
        return self.factors or (self.name,)


class Registry:
    """Rules in the order their factors are listed; names, factor names and sections unique."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> None:
        """Append ``rule``; ValueError when its name or a factor name is taken or malformed."""
        for name in (rule.name, *rule.factors, *rule.parts):
            if not _NAME.fullmatch(name):
                raise ValueError(f"risk rule {rule.name!r}: {name!r} is not a lower-case "
                                 "identifier (letters, digits, '_'); use one")
        taken = {rule.name for rule in self} | set(self.factor_names())
        clash = taken & {rule.name, *rule.factor_names}
        if clash:
            raise ValueError(f"risk rule {rule.name!r}: {', '.join(sorted(clash))} already "
                             "registered; pick another name")
        self._rules[rule.name] = rule

    @overload
    def register(self, name: str, settings: type[Settings], *, factors: tuple[str, ...] = (),
                 parts: tuple[str, ...] = ()
                 ) -> Callable[[Callable[[Evidence, Settings], list[Factor]]],
                               Callable[[Evidence, Settings], list[Factor]]]: ...

    @overload
    def register(self, name: str, settings: None = None, *, factors: tuple[str, ...] = (),
                 parts: tuple[str, ...] = ()
                 ) -> Callable[[Callable[[Evidence, None], list[Factor]]],
                               Callable[[Evidence, None], list[Factor]]]: ...

    def register(self, name: str, settings: type[Strict] | None = None, *,
                 factors: tuple[str, ...] = (), parts: tuple[str, ...] = ()
                 ) -> Callable[[RuleFunction], RuleFunction]:
        """Decorator: register the function as the rule ``name`` whose ``risk.yaml`` section is
        checked as ``settings``; ``factors`` names its factors when they are not ``name``,
        ``parts`` when they are ``<name>.<part>``."""
        def decorate(function: RuleFunction) -> RuleFunction:
            self.add(Rule(name, function, settings, tuple(factors), tuple(parts)))
            return function
        return decorate

    def __iter__(self) -> Iterator[Rule]:
        return iter(tuple(self._rules.values()))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, name: object) -> bool:
        return name in self._rules

    def copy(self) -> Registry:
        """Another registry holding the same rules (to add some without touching this one)."""
        return Registry(self)

    def factor_names(self) -> tuple[str, ...]:
        """Every rule's factor names (without parts), in order."""
        return tuple(name for rule in self for name in rule.factor_names)

    def is_factor_key(self, key: str) -> bool:
        """A factor name (``weight``), or ``<rule>.<part>`` of a rule with parts
        (``detection.gold``, ``party_history.address``): what ``factor_weights`` may name."""
        name, _, part = key.partition(".")
        if not part:
            return name in self.factor_names()
        return any(rule.name == name and part in rule.parts for rule in self)

    def factor_keys_text(self) -> str:
        """What :meth:`is_factor_key` accepts, in words (for error messages)."""
        parted = ", ".join(f"{rule.name}.<{'|'.join(rule.parts)}>" for rule in self if rule.parts)
        return f"a factor name ({', '.join(self.factor_names())}) or one of {parted}"

    def factors(self, evidence: Evidence) -> tuple[Factor, ...]:
        """Every rule's factors for ``evidence``, in the order the rules were registered."""
        found: list[Factor] = []
        for rule in self:
            settings = getattr(evidence.config, rule.name) if rule.settings else None
            found.extend(rule.function(evidence, settings))
        return tuple(found)


RULES = Registry()
"""The built-in rules, registered by :mod:`xscreen.serving.risk.rules` when the package loads."""
