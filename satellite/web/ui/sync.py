"""Sync files: upload a response from Central, read the preview, then apply it; inspect any
bundle without applying it."""

from __future__ import annotations

import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import after_this_request, current_app, flash, g, redirect, request, send_file, url_for
from werkzeug.datastructures import FileStorage

from satellite.cloudsync.central_registration import write_request
from satellite.cloudsync.diff import ImportDiff
from satellite.cloudsync.envelope import Header, read_bundle
from satellite.cloudsync.export import export_batch
from satellite.cloudsync.network import run_sync, sync_status
from satellite.cloudsync.service import (
    ImportReport,
    LocalView,
    SignatureStatus,
    import_bundle,
    local_view,
    require_import,
)
from satellite.cloudsync.sync_history import list_history
from satellite.cloudsync.trust import bundle_signature
from satellite.config import Settings
from satellite.errors import InvalidInput, SatelliteError
from satellite.keystore import open_keystore
from satellite.permissions.policy import require
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report, then_back
from satellite.web.ui.forms import ActionForm, ApplyForm, BundleForm
from satellite.web.ui.pages import actor, database, reading, render
from satellite.web.ui.session import allowed

PREVIEW_RECORDS = 500
HISTORY_PAGE = 50
UPLOAD_MAX_AGE_SECONDS = 3600
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Preview:
    header: Header
    signature: SignatureStatus
    local: LocalView
    records: list[dict[str, Any]]
    more: int
    problem: str | None
    dry_run: ImportReport | None = None
    dry_run_problem: str | None = None

    @property
    def diff(self) -> ImportDiff | None:
        return self.dry_run.diff if self.dry_run is not None else None

    @property
    def applicable(self) -> bool:
        return (self.signature.valid is True and self.problem is None
                and self.header.recipient == self.local.satellite_id
                and self.header.serial > self.local.last_serial
                and self.dry_run_problem is None)


def _settings() -> Settings:
    settings: Settings = current_app.config["SATELLITE_SETTINGS"]
    return settings


def _uploads() -> Path:
    folder = _settings().data_dir / "uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _owner() -> str:
    return f"u{g.user.id}"


def _store(upload: FileStorage) -> str:
    """Keep an uploaded bundle (0600) until it is applied, replaced by the same user's next
    upload, or an hour old; returns its id."""
    folder = _uploads()
    cutoff = time.time() - UPLOAD_MAX_AGE_SECONDS
    for old in folder.glob("*.bundle"):
        if old.name.startswith(_owner() + "-") or old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    upload_id = secrets.token_hex(16)
    path = folder / f"{_owner()}-{upload_id}.bundle"
    path.touch(mode=0o600)
    with path.open("wb") as out:
        shutil.copyfileobj(upload.stream, out)
    return upload_id


def _stored(upload_id: str) -> Path:
    """The user's own upload: another user's id is as unknown as a made-up one."""
    path = _uploads() / f"{_owner()}-{upload_id}.bundle"
    if not _UPLOAD_ID.match(upload_id) or not path.exists():
        raise InvalidInput("that upload is gone (applied already, or older than an hour): "
                           "upload the file again")
    return path


def _preview(path: Path) -> Preview:
    local = local_view(database())
    records: list[dict[str, Any]] = []
    more = 0
    problem = None
    with read_bundle(path) as bundle:
        status = bundle_signature(bundle, open_keystore(_settings()), local)
        try:
            for rec in bundle.records():
                if len(records) < PREVIEW_RECORDS:
                    records.append(rec)
                else:
                    more += 1
        except SatelliteError as exc:
            problem = exc.message
    return Preview(bundle.header, status, local, records, more, problem)


def _dry_run(shown: Preview, path: Path) -> Preview:
    """What applying would change, computed by the import itself and rolled back."""
    if shown.signature.valid is not True or shown.problem is not None:
        return shown
    try:
        shown.dry_run = import_bundle(database(), open_keystore(_settings()), actor(), path,
                                      dry_run=True,
                                      overdue_days=_settings().sync_overdue_days,
                                      expiry_days=_settings().expiry_notice_days)
    except SatelliteError as exc:
        shown.dry_run_problem = exc.message
    return shown


def _page_context() -> dict[str, Any]:
    offset = request.args.get("offset", "0")
    if not offset.isdigit():
        raise InvalidInput(f"offset {offset!r} is not a whole number")
    with reading() as uow:
        may_sync = allowed(uow.session, actor(), "sync.import")
        history = (list_history(uow.session, actor(), limit=HISTORY_PAGE, offset=int(offset))
                   if may_sync else None)
    # The appliance-wide status is for system administrators (`sync.view` without an account).
    sync = sync_status(database(), _settings(), actor()) if may_sync else None
    return {"sync": sync, "may_sync": may_sync, "history": history, "offset": int(offset),
            "page_size": HISTORY_PAGE,
            "export": ActionForm(formdata=None, prefix="exp"),
            "register": ActionForm(formdata=None, prefix="reg"),
            "now": ActionForm(formdata=None, prefix="now")}


@ui.route("/sync", endpoint="sync_page", methods=["GET"])
def sync_page() -> Any:
    return render("sync.html", upload=BundleForm(formdata=None, prefix="imp"),
                  inspect=BundleForm(formdata=None, prefix="ins"), **_page_context())


@ui.route("/sync/export", endpoint="sync_export", methods=["POST"])
def export() -> Any:
    """Write the usage batch (every event Central has not acknowledged) and download it."""
    form = ActionForm(prefix="exp")
    if not form.validate_on_submit():
        flash("The export form had expired: nothing was exported.", "error")
        return redirect(url_for("ui.sync_page"))
    path = _uploads() / f"export-{secrets.token_hex(16)}.bundle"
    try:
        done = export_batch(database(), open_keystore(_settings()), actor(), path)
    except SatelliteError as exc:
        path.unlink(missing_ok=True)
        return render("sync.html", report(exc), upload=BundleForm(formdata=None, prefix="imp"),
                      inspect=BundleForm(formdata=None, prefix="ins"), **_page_context())

    return _send_once(path, f"usage-batch-{done.header.serial}.bundle")


def _send_once(path: Path, name: str) -> Any:
    """Download a bundle written for this answer, then remove it."""

    @after_this_request
    def _cleanup(response: Any) -> Any:
        path.unlink(missing_ok=True)
        return response

    # Absolute: send_file reads a relative path from the application's folder, not the cwd.
    return send_file(path.resolve(), mimetype="application/octet-stream", as_attachment=True,
                     download_name=name, max_age=0)


def _bundle_posted(prefix: str, template_form: str) -> tuple[BundleForm, Any]:
    form = BundleForm(prefix=prefix)
    if not form.validate_on_submit():
        kwargs = {"upload": BundleForm(formdata=None, prefix="imp"),
                  "inspect": BundleForm(formdata=None, prefix="ins"), **_page_context(),
                  template_form: form}
        return form, render("sync.html", 400, **kwargs)
    return form, None


@ui.route("/sync/preview", endpoint="sync_preview", methods=["POST"])
def preview() -> Any:
    require_import(database(), actor())
    form, failed = _bundle_posted("imp", "upload")
    if failed is not None:
        return failed
    upload_id = _store(form.bundle.data)
    path = _stored(upload_id)
    try:
        shown = _dry_run(_preview(path), path)
    except SatelliteError as exc:
        path.unlink(missing_ok=True)
        return render("sync.html", report(exc, form, "bundle"), upload=form,
                      inspect=BundleForm(formdata=None, prefix="ins"), **_page_context())
    if not shown.applicable:
        path.unlink(missing_ok=True)  # it can never be applied: nothing to keep it for
    return render("sync_preview.html", preview=shown,
                  apply=ApplyForm(formdata=None, upload=upload_id), applying=True)


@ui.route("/sync/inspect", endpoint="sync_inspect", methods=["POST"])
def inspect() -> Any:
    require_import(database(), actor())
    form, failed = _bundle_posted("ins", "inspect")
    if failed is not None:
        return failed
    upload_id = _store(form.bundle.data)
    path = _stored(upload_id)
    try:
        shown = _preview(path)
    except SatelliteError as exc:
        return render("sync.html", report(exc, form, "bundle"), inspect=form,
                      upload=BundleForm(formdata=None, prefix="imp"), **_page_context())
    finally:
        path.unlink(missing_ok=True)
    return render("sync_preview.html", preview=shown, apply=None, applying=False)


@ui.route("/sync/apply", endpoint="sync_apply", methods=["POST"])
def apply() -> Any:
    form = ApplyForm()
    if not form.validate_on_submit():
        flash("Nothing to apply: upload the file again.", "error")
        return redirect(url_for("ui.sync_page"))
    try:
        path = _stored(form.upload.data or "")
        result = import_bundle(database(), open_keystore(_settings()), actor(), path,
                               overdue_days=_settings().sync_overdue_days,
                               expiry_days=_settings().expiry_notice_days,
                               max_bytes=_settings().max_upload_mb << 20)
    except SatelliteError as exc:
        return render("sync.html", report(exc), upload=BundleForm(formdata=None, prefix="imp"),
                      inspect=BundleForm(formdata=None, prefix="ins"), **_page_context())
    path.unlink(missing_ok=True)
    snap = result.snapshot
    detail = (f": {snap.added} lines added, {snap.updated} updated, {snap.unchanged} unchanged, "
              f"{snap.removed} removed" if snap else "")
    if (classic := result.classic_licenses) is not None and (classic.completed
                                                              or classic.rejected):
        detail += (f"; classic license conversions: {classic.completed} completed, "
                   f"{classic.rejected} rejected")
    flash(f"Applied response {result.header.serial} from Central{detail}.", "info")
    return redirect(url_for("ui.sync_page"))


def _refused(prefix: str, what: str) -> Any:
    """A redirect back when the button's form expired; raises for one who may not sync."""
    if not ActionForm(prefix=prefix).validate_on_submit():
        flash(f"The {what} form had expired: nothing was done.", "error")
        return redirect(url_for("ui.sync_page"))
    with reading() as uow:
        require(uow.session, actor(), "sync.import")
    return None


@ui.route("/sync/register", endpoint="sync_register", methods=["POST"])
def register() -> Any:
    """Write the signed registration request and download it, to carry to Central."""
    refused = _refused("reg", "registration")
    if refused is not None:
        return refused
    path = _uploads() / f"register-{secrets.token_hex(16)}.bundle"
    header = write_request(database(), open_keystore(_settings()), path, actor())
    return _send_once(path, f"registration-request-{header.serial}.bundle")


@ui.route("/sync/now", endpoint="sync_now", methods=["POST"])
def sync_now() -> Any:
    """Sync with Central over the network now: register if needed, send, apply the answer."""
    refused = _refused("now", "sync")
    if refused is not None:
        return refused

    def run() -> str:
        outcome = run_sync(database(), _settings(), open_keystore(_settings()), actor())
        registered = "Registered with Central; " if outcome.registered_now else ""
        return (f"{registered}sent {outcome.sent} events and applied response "
                f"{outcome.response.header.serial}.")

    return then_back(run, url_for("ui.sync_page"))
