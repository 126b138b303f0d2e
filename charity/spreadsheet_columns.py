"""Spreadsheet columns as clerks read and type them: Chinese headers, labels instead of codes, 是/否.

An export's headers are the fields' labels in the user's language ("类型", "社区能人"), its values what the
admin shows ("社区社会组织", "是"). An import accepts the same, and also the code names (`type`,
`community_group`, `true`) that older files and other systems use, and what Chinese input methods type:
full-width letters, digits and signs (＋８６…), stray spaces, a "：" or "*" after a header.
"""

from __future__ import annotations

import unicodedata

from django.utils import translation
from django.utils.translation import gettext
from import_export import widgets

TRUE_WORDS = {"1", "true", "yes", "y", "是", "√", "✓", "✔", "对", "有"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "×", "✗", "✘", "不是", "无", "没有"}
LANGUAGES = ("zh-hans", "en")


def clean_cell(value) -> str:
    """A cell as text: full-width forms folded (NFKC), surrounding spaces dropped."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def header_key(value) -> str:
    """A header compared loosely: NFKC, no spaces, no trailing colon or "required" star, lower case."""
    text = clean_cell(value).replace(" ", "").rstrip(":*").lower()
    return text


class TextWidget(widgets.CharWidget):
    """A text column: full-width forms folded, surrounding spaces dropped (NFKC), as typed into a form."""

    def clean(self, value, row=None, **kwargs):
        return clean_cell(value)


class YesNoWidget(widgets.BooleanWidget):
    """A yes/no column: exported as 是/否 (the user's language), imported from either or from codes."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return gettext("yes") if value else gettext("no")

    def clean(self, value, row=None, **kwargs):
        text = clean_cell(value).lower()
        if text == "":
            return None
        if text in TRUE_WORDS or text == gettext("yes").lower():
            return True
        if text in FALSE_WORDS or text == gettext("no").lower():
            return False
        raise ValueError(gettext("Enter 是 or 否 (yes or no), not “%(value)s”.") % {"value": value})


class ChoiceWidget(widgets.Widget):
    """A column of a choice field: exported as its label, imported from the label (in either language)
    or the code."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.choices = list(choices)

    def render(self, value, obj=None, **kwargs):
        if value in (None, ""):
            return ""
        return str(dict(self.choices).get(value, value))

    def clean(self, value, row=None, **kwargs):
        text = clean_cell(value)
        if text == "":
            return ""
        codes = {str(code) for code, _label in self.choices}
        if text in codes:
            return text
        wanted = text.lower()
        for code in codes:
            if code.lower() == wanted:
                return code
        for language in LANGUAGES:
            with translation.override(language):
                for code, label in self.choices:
                    if clean_cell(label).lower() == wanted:
                        return code
        labels = "、".join(str(label) for _code, label in self.choices)
        raise ValueError(
            gettext("“%(value)s” is not one of: %(labels)s.") % {"value": value, "labels": labels}
        )


class LabelledHeadersMixin:
    """For a ModelResource whose fields' `column_name` are translated labels: an import file's headers
    may be those labels in either language or the fields' code names; they are renamed to the labels the
    resource expects before the rows are read."""

    def header_aliases(self) -> dict[str, str]:
        aliases = {}
        for name, field in self.fields.items():
            column = str(field.column_name)
            aliases[header_key(name)] = column
            if field.attribute:
                aliases.setdefault(header_key(field.attribute), column)
            for language in LANGUAGES:
                with translation.override(language):
                    aliases.setdefault(header_key(str(field.column_name)), column)
        return aliases

    def before_import(self, dataset, **kwargs):
        aliases = self.header_aliases()
        if dataset.headers:
            dataset.headers = [aliases.get(header_key(h), h) for h in dataset.headers]
        super().before_import(dataset, **kwargs)
