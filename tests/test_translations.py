"""The Chinese catalog is complete: every string in the source has a translation there.

A string added to the code without a translation fails here, named. To fix it, run
`scripts/translations update` and fill in the new msgstr entries of
app/translations/zh_Hans_CN/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from config import BaseConfig

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "app" / "translations"
# Flask-Babel looks for a catalog under the name Babel gives the locale: zh_CN is zh_Hans_CN.
ZH_CN_PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
# The keywords scripts/translations extracts with: Babel's defaults (_, gettext, ngettext,
# ...) plus Flask-Babel's lazy_gettext, imported as _l.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
# %(name)s and the like; a translation must keep exactly the msgid's set.
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[a-zA-Z]")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with ZH_CN_PO.open("rb") as po_file:
        return read_po(po_file, locale="zh_CN")


def _forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Singular and plural forms of a msgid or msgstr, as a tuple."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _label(message: Message) -> str:
    context = f"[{message.context}] " if message.context else ""
    return context + " | ".join(_forms(message.id))


def _source_messages() -> dict[tuple[str | None, str], tuple[str, int]]:
    """(context, msgid) -> (file, line) of every translatable string, via babel.cfg."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found: dict[tuple[str | None, str], tuple[str, int]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=KEYWORDS,
        # Skip only hidden folders (.venv, .git): Babel's default also skips templates/_macros.
        directory_filter=lambda path: not Path(path).name.startswith("."),
    ):
        msgid = _forms(message)[0]
        found.setdefault((context, msgid), (filename, lineno))
    return found


@pytest.mark.parametrize("language", list(BaseConfig.LANGUAGES))
def test_each_language_has_a_catalog_where_flask_babel_looks(language: str) -> None:
    name = str(Locale.parse(language))
    assert (TRANSLATIONS / name / "LC_MESSAGES" / "messages.po").is_file(), (
        f"{language} is read from app/translations/{name}/ (run scripts/translations init {name})"
    )


def test_every_message_is_translated(catalog: Catalog) -> None:
    untranslated = [
        _label(message)
        for message in catalog
        if message.id and (message.fuzzy or not all(_forms(message.string)))
    ]
    assert not untranslated, "Untranslated or fuzzy in zh_Hans_CN/messages.po:\n" + "\n".join(
        untranslated
    )


def test_translations_keep_the_placeholders(catalog: Catalog) -> None:
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        expected = set().union(*(_placeholders(form) for form in _forms(message.id)))
        for translation in _forms(message.string):
            if translation and _placeholders(translation) != expected:
                wrong.append(f"{_label(message)}  ->  {translation}")
    assert not wrong, "Placeholders differ from the msgid in zh_Hans_CN/messages.po:\n" + "\n".join(
        wrong
    )


def test_every_source_string_is_in_the_catalog(catalog: Catalog) -> None:
    source = _source_messages()
    assert source, "no translatable strings found: is babel.cfg in step with the code?"
    missing = [
        f"{filename}:{lineno}: {msgid}"
        for (context, msgid), (filename, lineno) in sorted(source.items(), key=lambda i: i[1])
        if catalog.get(msgid, context=context) is None
    ]
    assert not missing, (
        "Strings missing from zh_Hans_CN/messages.po (run scripts/translations update, then "
        "translate them):\n" + "\n".join(missing)
    )
