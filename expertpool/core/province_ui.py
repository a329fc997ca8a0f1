"""The province vocabulary in the interface: the select field, the error message, the label.

`core.provinces` holds the vocabulary itself (pure); this adds what needs Flask-Babel and
WTForms, so the expert and submission forms and operations share one field and one message.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms import SelectField
from wtforms.validators import ValidationError

from .provinces import keep_or_normalise, lookup, province_choices, province_label


def unknown_province_message(value: str) -> str:
    return _(
        "Unknown province “%(value)s”: use one of the 34 provincial-level divisions, "
        "e.g. 北京市 (北京) or 广西壮族自治区 (广西).",
        value=value,
    )


def clean(value: str | None, current: str | None = None) -> str | None:
    """The canonical name for `value` (None when blank); `current` may stay as it is.

    Raises `UnknownProvince` (its `text` goes into `unknown_province_message`).
    """
    return keep_or_normalise((value or "").strip() or None, current)


def label(value: str | None) -> str:
    """The stored province as shown in the current interface language."""
    return province_label(value, str(get_locale()))


def _choices() -> list[tuple[str, str]]:
    return [("", "—"), *province_choices(str(get_locale()))]


class ProvinceField(SelectField):
    """A select of the 34 provincial-level divisions, labelled in the interface language.

    Posted aliases ("北京", "Beijing") are accepted as their canonical name. A stored value
    outside the vocabulary (left by migration 0005) is shown selected and, when the controller
    names it in `keep`, saved unchanged; any other value is refused.
    """

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("default", "")
        super().__init__(label, validators, choices=_choices, validate_choice=False, **kwargs)
        self.type = "SelectField"  # rendered by the form macros like any other select
        self.keep: str | None = None

    def iter_choices(self) -> Any:
        known = {value for value, _label in self.choices or []}
        if self.data and self.data not in known:
            yield (self.data, self.data, True, {})
        yield from super().iter_choices()

    def pre_validate(self, form: Any) -> None:
        value = (self.data or "").strip()
        if not value:
            self.data = None
            return
        canonical = lookup(value)
        if canonical is not None:
            self.data = canonical
        elif value != self.keep:
            raise ValidationError(unknown_province_message(value))
