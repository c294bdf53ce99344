"""The one industry list shared by library projects and businesses (SPEC §7, §8)."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice


class Industry(enum.StrEnum):
    """What a project or business does."""

    AGRICULTURE = "agriculture"
    FOOD = "food"
    CATERING = "catering"
    RETAIL = "retail"
    ECOMMERCE = "ecommerce"
    MANUFACTURING = "manufacturing"
    CRAFTS = "crafts"
    REPAIR = "repair"
    TOURISM = "tourism"
    HOMESTAY = "homestay"
    TRANSPORT = "transport"
    DOMESTIC_SERVICES = "domestic_services"
    EDUCATION = "education"
    HEALTH = "health"
    TECHNOLOGY = "technology"
    OTHER = "other"


INDUSTRY_LABELS = {
    Industry.AGRICULTURE: _l("Agriculture"),
    Industry.FOOD: _l("Food processing"),
    Industry.CATERING: _l("Catering"),
    Industry.RETAIL: _l("Retail"),
    Industry.ECOMMERCE: _l("E-commerce"),
    Industry.MANUFACTURING: _l("Manufacturing"),
    Industry.CRAFTS: _l("Crafts"),
    Industry.REPAIR: _l("Repair services"),
    Industry.TOURISM: _l("Tourism"),
    Industry.HOMESTAY: _l("Homestays"),
    Industry.TRANSPORT: _l("Transport and logistics"),
    Industry.DOMESTIC_SERVICES: _l("Domestic services"),
    Industry.EDUCATION: _l("Education and training"),
    Industry.HEALTH: _l("Health and elderly care"),
    Industry.TECHNOLOGY: _l("Technology"),
    Industry.OTHER: _l("Other"),
}

INDUSTRY_VALUES = tuple(member.value for member in Industry)


def industry_choices() -> list[SelectChoice]:
    """Industry options in SPEC order, labelled in the interface language."""
    return [SelectChoice(code.value, str(label)) for code, label in INDUSTRY_LABELS.items()]


def industry_check(column: str) -> str:
    """SQL CHECK text keeping `column` inside the list."""
    return f"{column} IN ({', '.join(repr(value) for value in INDUSTRY_VALUES)})"
