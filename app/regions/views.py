"""Pages: the region tree, and adding a region."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.core.errors import ValidationFailed
from app.core.forms import show_form_errors, with_blank
from app.core.permissions import Permission, permission_required
from app.extensions import db
from app.regions.forms import RegionForm
from app.regions.models import RegionLevel
from app.regions.operations import create_region
from app.regions.queries import list_regions

regions_bp = Blueprint("regions", __name__)


@regions_bp.get("/regions")
@permission_required(Permission.DASHBOARD_VIEW)
def index() -> Any:
    """Every province with its cities, counties and districts."""
    return render_template("regions/index.html", regions=list_regions())


@regions_bp.route("/admin/regions/new", methods=["GET", "POST"])
@permission_required(Permission.REGIONS_MANAGE)
def new_region() -> Any:
    """Add a province or a city/county/district."""
    form = RegionForm()
    form.parent_code.choices = with_blank(
        [
            SelectChoice(r.code, f"{r.code} {r.display_name}")
            for r in list_regions(level=RegionLevel.PROVINCE)
        ]
    )
    if form.validate_on_submit():
        try:
            region = create_region(
                current_user,
                code=form.code.data,
                name=form.name.data,
                level=form.level.data,
                parent_code=form.parent_code.data,
                name_en=form.name_en.data,
            )
        except ValidationFailed as error:
            db.session.rollback()
            show_form_errors(form, error)
        else:
            db.session.commit()
            flash(
                _("Region %(code)s %(name)s added.", code=region.code, name=region.name), "success"
            )
            return redirect(url_for("regions.index"))
    return render_template("regions/form.html", form=form)
