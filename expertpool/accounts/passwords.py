"""The password policy: one check for every way a password is set.

Registration, a password change, an administrator's reset, `flask users create-admin` and the
demo data all go through `operations`, which call `check`. The rules (MLPS 2.0 level 3: 口令
复杂度): at least PASSWORD_MIN_LENGTH characters, PASSWORD_MIN_CLASSES of the four character
classes, not containing the user name or the e-mail's local part, and a zxcvbn score of at least
PASSWORD_MIN_SCORE. zxcvbn works offline from frequency lists (the 30,000 most common passwords
of leaked sets, English words, names, keyboard patterns, dates, repeats and sequences), so
`password12` or `1234567890` fail however long they are.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

_ZXCVBN_MAX_LENGTH = 100  # zxcvbn's cost grows with length; the first 100 characters decide


@dataclass(frozen=True)
class Policy:
    min_length: int = 10
    min_classes: int = 3
    min_score: int = 3

    @classmethod
    def from_config(cls, config: Any = None) -> Policy:
        config = config if config is not None else current_app.config
        return cls(
            min_length=int(config.get("PASSWORD_MIN_LENGTH", cls.min_length)),
            min_classes=int(config.get("PASSWORD_MIN_CLASSES", cls.min_classes)),
            min_score=int(config.get("PASSWORD_MIN_SCORE", cls.min_score)),
        )


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and other characters the password uses."""
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


def problems(
    password: str, user_inputs: Iterable[str | None] = (), policy: Policy | None = None
) -> list[str]:
    """What is wrong with `password`, one translated sentence per rule broken (empty: fine)."""
    policy = policy or Policy.from_config()
    found = []
    if len(password) < policy.min_length:
        found.append(str(_l("At least %(n)d characters.", n=policy.min_length)))
    if character_classes(password) < policy.min_classes:
        found.append(
            str(
                _l(
                    "Use at least %(n)d of: lower-case letters, capitals, digits, other characters.",
                    n=policy.min_classes,
                )
            )
        )
    inputs = _personal_words(user_inputs)
    if any(word in password.lower() for word in inputs):
        found.append(str(_l("The password must not contain your user name or e-mail.")))
    if policy.min_score and not found and _score(password, inputs) < policy.min_score:
        found.append(
            str(_l("This password is too common or too easy to guess; choose a less usual one."))
        )
    return found


def _personal_words(user_inputs: Iterable[str | None]) -> list[str]:
    words = set()
    for value in user_inputs:
        value = (value or "").strip().lower()
        words.update(w for w in (value, value.split("@")[0]) if len(w) >= 3)
    return sorted(words)


def _score(password: str, inputs: list[str]) -> int:
    return int(zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=inputs)["score"])


def random_password(length: int = 20) -> str:
    """A password meeting any sensible policy: random, with every character class."""
    alphabet = string.ascii_letters + string.digits + "-_.!"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if character_classes(candidate) == 4:
            return candidate
