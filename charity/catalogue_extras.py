"""Messages that Django's and the libraries' own Chinese catalogues lack, listed here so that `makemessages`
puts them in ours, which comes first (LOCALE_PATHS): without them the Chinese admin showed English.

Nothing imports this module; it is read by `makemessages` only. The JavaScript side (the two-box selector's
"Choose all", the calendar's weekday letters) is in locale/zh_Hans/LC_MESSAGES/djangojs.po, which the
admin's own JavaScript catalogue view merges in the same way. docs/admin.md says how to find new ones.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

MESSAGES = (
    # Django: a form label's suffix (BaseForm.label_suffix), so that the admin reads "名称：", not "名称:".
    gettext_noop(":"),
    # django.contrib.admin 5.1+: the table headers of the model lists, read by screen readers.
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Error:"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("In case you’ve forgotten, you are:"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("%(model)s instance with %(field)s %(value)r is not a valid choice."),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
    # django-treebeard (the area tree's form), which has no Chinese catalogue.
    gettext_noop("Position"),
    gettext_noop("Relative to"),
    gettext_noop("-- root --"),
    gettext_noop("First child of"),
    gettext_noop("Child of"),
    gettext_noop("Sibling of"),
    gettext_noop("Before"),
    gettext_noop("After"),
    gettext_noop("You do not have permission to change this object."),
    # django-import-export: what its zh_Hans catalogue leaves untranslated on the import and export pages.
    gettext_noop("Select all"),
    ngettext_lazy("Export %(len)s selected item.", "Export %(len)s selected items.", "len"),
    gettext_noop("You must select an export format."),
    gettext_noop('Select at least 1 field for "%(resource_name)s" to export'),
    gettext_noop("Value could not be parsed."),
    gettext_noop("No valid data to import. Ensure your file has the correct headers or data for import."),
    gettext_noop(
        "%(exc_name)s encountered while trying to read file. Ensure you have chosen the correct format "
        "for the file."
    ),
    gettext_noop("export failed due to IllegalCharacterError"),
    gettext_noop("Resource"),
)
