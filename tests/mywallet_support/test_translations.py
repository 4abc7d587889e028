from django.db.models.fields import BLANK_CHOICE_LABEL
from django.utils import translation

from mywallet_support.translations import DJANGO_GAPS


def test_the_strings_django_leaves_untranslated_are_chinese_from_our_catalogue():
    with translation.override("zh-hans"):
        translated = [translation.gettext(text) for text in DJANGO_GAPS]
        blank_choice = str(BLANK_CHOICE_LABEL)
    assert all(text != source for text, source in zip(translated, DJANGO_GAPS, strict=True))
    assert blank_choice == "- 请选择 -"
