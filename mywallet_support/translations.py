"""Strings Django itself shows whose Simplified Chinese translation Django 6.1 lacks.

Marked here so that ``makemessages`` keeps them in ``locale/zh_Hans``: the project's
catalogue (LOCALE_PATHS) is searched before Django's own, so our translation fills the gap.
Drop an entry once Django ships it.
"""

from django.utils.translation import gettext_noop

DJANGO_GAPS = [
    # The blank choice of selects (BLANK_CHOICE_LABEL), new in Django 6.1.
    gettext_noop("- Select an option -"),
    # The date hierarchy's label over a list (admin/date_hierarchy.html), new in Django 6.1.
    gettext_noop("Filter by %(field_name)s"),
]
