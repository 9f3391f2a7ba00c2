"""The auditor's pages in the portal: sign in, search the log, check an event's proof, export,
the witnessed checkpoints, and the activity per day.

The same session mechanism as the holder's pages (portal/session.py: the access token in an
HttpOnly cookie, CSRF tokens on forms), asked for the auditor role: a holder's session opens
none of these pages and an auditor's none of the holder's (each is sent to its own login page).

Every page calls what the API calls (audit/export.py, audit/service.py, the consents and
licences services), so the filters, their refusals (shown in the page instead of a problem
document), the proofs and the exports are the API's own. Reads of records (the consent or
licence an event names) are noted by those services and go on the log as `auditor.read`
events, as they do through the API; reading the log itself is not, as through the API.

One page runs a script: the event page, whose `audit_proof.js` (served from here, no other
origin) recomputes the inclusion proof in the browser. The server's verdict is in the page too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pygal
from fastapi import APIRouter, Form, Query, Request, Response

from consent_service.accounts import auditors
from consent_service.accounts import service as accounts
from consent_service.accounts.auditors import TotpInvalid, TotpRequired, TotpReused
from consent_service.accounts.principal import Role
from consent_service.audit import export, merkle, reads, service
from consent_service.audit.actions import Action
from consent_service.audit.offline import CHECKPOINT_TYP
from consent_service.consents import lifecycle
from consent_service.consents import service as consents
from consent_service.db import rfc3339, utcnow
from consent_service.deps import (
    ReadSessionDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
    SignerDep,
    WritingRead,
)
from consent_service.errors import DomainError, InvalidCredentials, NotFound
from consent_service.licences import service as licences
from consent_service.ops.rate_limit import check_login_rate
from consent_service.portal import session as web
from consent_service.portal.pages import (
    SECURITY_HEADERS,
    PortalRoute,
    login_page,
    render,
    see_other,
    sign_out,
)
from consent_service.portal.session import (
    AUDITOR_LOGIN_PATH,
    AuditorForm,
    AuditorSession,
    OptionalAuditorSession,
)

router = APIRouter(prefix="/portal", include_in_schema=False, route_class=PortalRoute)

HOME = "/portal/audit"
PAGE_SIZE = 50
ACTIONS = sorted(a.value for a in Action)
# The chart's series: what an auditor follows day by day.
CHART_SERIES = (
    (Action.consent_granted.value, "Consents granted"),
    (Action.consent_withdrawn.value, "Consents withdrawn"),
    (Action.licence_issued.value, "Licences issued"),
    (Action.usage_recorded.value, "Usages recorded"),
)
CHART_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
# The event page alone runs a script: its own, from this origin; it fetches the registry's
# public keys (same origin) and computes with WebCrypto.
EVENT_PAGE_CSP = (
    SECURITY_HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"
)
# A chart is an image: its SVG may style itself and can run nothing.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"

_STATIC = files("consent_service.portal").joinpath("static")
PROOF_SCRIPT = _STATIC.joinpath("audit_proof.js").read_bytes()
AUDIT_STYLESHEET = _STATIC.joinpath("audit.css").read_bytes()

FilterText = Annotated[str | None, Query(max_length=200)]


@router.get("/static/audit_proof.js")
def proof_script() -> Response:
    return Response(
        PROOF_SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/static/audit.css")
def audit_stylesheet() -> Response:
    return Response(
        AUDIT_STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


# -- signing in and out ------------------------------------------------------------------------

_LOGIN_MESSAGES = {
    "credentials": "The email or password is not correct.",
    "totp_required": "This account has a second factor: enter the 6-digit code from your app.",
    "totp_invalid": "The 6-digit code is not correct. Codes change every 30 seconds.",
    "totp_reused": "This code was already used to sign in. Wait for the next code from your app.",
    "not_auditor": "These pages are for auditors. Holders sign in at /portal/login.",
}


def _login_page(request: Request, settings: SettingsDep, **fields: Any) -> Response:
    return login_page(request, settings, template="audit_login.html", **fields)


@router.get("/audit/login")
def login_form(
    request: Request,
    portal: OptionalAuditorSession,
    settings: SettingsDep,
    next_url: Annotated[str | None, Query(alias="next", max_length=200)] = None,
    signed_out: Annotated[bool, Query()] = False,
) -> Response:
    if portal is not None:
        return see_other(web.safe_next(next_url, HOME))
    message = "You are signed out." if signed_out else None
    return _login_page(request, settings, message=message, next_url=web.safe_next(next_url, HOME))


@router.post("/audit/login")
def login(
    request: Request,
    session: SessionDep,
    read_session: ReadSessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=200)] = "",
) -> Response:
    web.check_login_csrf(request, csrf_token)
    destination = web.safe_next(next_url, HOME)
    # Each try, a wrong code as much as a wrong password, counts against the sign-in limit.
    check_login_rate(
        services.login_rate_limiters,
        address=request.client.host if request.client else "unknown",
        email=email,
    )
    failure: str | None = None
    try:
        access_token, ttl = accounts.issue_access_token(
            read_session,
            signer=signer,
            ttl_seconds=settings.access_token_ttl_seconds,
            email=email.strip(),
            password=password,
            client_id="portal",
            totp=totp.strip() or None,
            write_session=services.session,
        )
    except InvalidCredentials:
        failure = "credentials"
    except TotpRequired:
        failure = "totp_required"
    except TotpInvalid:
        failure = "totp_invalid"
    except TotpReused:
        failure = "totp_reused"
    if failure is None and web.principal_of_role(session, signer, access_token, Role.auditor):
        response = see_other(destination)
        web.set_session_cookie(response, request, settings, access_token, ttl)
        web.clear_login_csrf_cookie(response, request, settings)
        return response
    if failure is None:  # a good sign-in of someone else: not a session of these pages
        accounts.revoke_access_token(session, signer=signer, token=access_token)
        failure = "not_auditor"
    return _login_page(
        request,
        settings,
        message=_LOGIN_MESSAGES[failure],
        email=email,
        next_url=destination,
        status_code=403 if failure == "not_auditor" else 401,
    )


@router.post("/audit/logout")
def logout(
    request: Request,
    portal: AuditorForm,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> Response:
    return sign_out(
        request, session, signer, settings, then=f"{AUDITOR_LOGIN_PATH}?signed_out=true"
    )


# -- searching the log -------------------------------------------------------------------------


def _filter_params(request: Request) -> list[tuple[str, str]]:
    """The search form's fields as the export's filter parameters (empty fields are unset)."""
    return [(k, v.strip()) for k, v in request.query_params.multi_items() if v.strip()]


def _search_context(
    portal: web.PortalSession, params: list[tuple[str, str]], *, first_page: bool
) -> dict[str, Any]:
    return {
        "portal": portal,
        "form": {name: value for name, value in params if name in export.FILTER_NAMES},
        "actions": ACTIONS,
        "error": None,
        "events": [],
        "next_url": None,
        "export_query": None,
        "first_page": first_page,
    }


def _refused(request: Request, context: dict[str, Any], exc: DomainError) -> Response:
    """The search page with the filter's refusal in words (the API's 422, as a page)."""
    context["error"] = exc.detail
    return render(request, "audit_search.html", context, status_code=422)


@router.get("/audit")
def search(
    request: Request,
    portal: AuditorSession,
    session: SessionDep,
    occurred_from: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    occurred_to: Annotated[str | None, Query(alias="to", max_length=64)] = None,
    holder_id: FilterText = None,
    studio_id: FilterText = None,
    consent_id: FilterText = None,
    licence_id: FilterText = None,
    action: FilterText = None,
    after: Annotated[int, Query(ge=-1, le=2**53 - 1)] = -1,
) -> Response:
    """Events matching the export's exact filters, a page at a time (`after`: last seq seen)."""
    params = _filter_params(request)
    context = _search_context(portal, params, first_page=after >= 0)
    try:
        filters, _extra = export.parse_filters(params, extra=("after",))
    except DomainError as exc:
        return _refused(request, context, exc)
    page = reads.events_page(session, portal.principal, filters, after=after, limit=PAGE_SIZE)
    query = filters.query()
    context["events"] = page["items"]
    context["export_query"] = urlencode(query)
    context["first_url"] = f"{HOME}?{urlencode(query)}"
    if page["next_after"] is not None:
        context["next_url"] = f"{HOME}?{urlencode({**query, 'after': page['next_after']})}"
    return render(request, "audit_search.html", context)


@router.get("/audit/export", dependencies=[WritingRead])
def download_export(
    request: Request,
    portal: AuditorSession,
    session: SessionDep,
    signer: SignerDep,
    services: ServicesDep,
    format: Annotated[str, Query(max_length=8)] = "jsonl",
) -> Response:
    """The API's export (audit/export.py) with the page's filters, as a file to keep."""
    params = _filter_params(request)
    try:
        filters, extra = export.parse_filters(params, extra=("format",))
        kind = reads.export_format(extra)
    except DomainError as exc:
        return _refused(request, _search_context(portal, params, first_page=False), exc)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return reads.export_response(
        session,
        portal.principal,
        signer=signer,
        engine=services.engine,
        filters=filters,
        kind=kind,
        filename=f"audit-log-{stamp}",
    )


# -- one event and its proof -------------------------------------------------------------------


def _named_records(session: Any, principal: Any, subjects: dict[str, Any]) -> list[dict[str, str]]:
    """The consent and licence the event names, as they stand now (each read is noted on the
    log by the service that reads it, as through the API)."""
    now = utcnow()
    shown: list[dict[str, str]] = []
    consent_id = subjects.get("consent_id")
    if isinstance(consent_id, str):
        try:
            grant = consents.get_consent(session, principal=principal, consent_id=consent_id)
            status = lifecycle.status_now(grant, now)
        except NotFound:
            status = "not found (erased or never stored)"
        shown.append({"kind": "Consent", "id": consent_id, "status": status})
    licence_id = subjects.get("licence_id")
    if isinstance(licence_id, str):
        try:
            licence = licences.get_licence(
                session=session, principal=principal, licence_id=licence_id
            )
            status = licences.status_now(licence, now)
        except NotFound:
            status = "not found (erased or never stored)"
        shown.append({"kind": "Licence", "id": licence_id, "status": status})
    return shown


@router.get("/audit/events/{seq}", dependencies=[WritingRead])
def event_page(
    seq: int,
    request: Request,
    portal: AuditorSession,
    session: SessionDep,
    signer: SignerDep,
) -> Response:
    event_json, line = service.event_proof(session, signer=signer, seq=seq)
    checkpoint = line["checkpoint"]
    # The server's own check, for browsers without script: the JWS signature with the
    # registry's keys, the leaf from the event's bytes, the root from the path.
    _header, claims = signer.verify(session, checkpoint["signature"], typ=CHECKPOINT_TYP)
    leaf = merkle.hash_leaf(event_json.encode("utf-8"))
    verified = leaf.hex() == line["leaf_hash"] and merkle.verify_inclusion(
        leaf,
        seq,
        int(claims["tree_size"]),
        [bytes.fromhex(h) for h in line["inclusion_proof"]],
        bytes.fromhex(str(claims["root_hash"])),
    )
    event = line["event"]
    auditors.note_log_read(
        session,
        portal.principal,
        "audit_inclusion_proof",
        seq=seq,
        tree_size=int(claims["tree_size"]),
    )
    response = render(
        request,
        "audit_event.html",
        {
            "portal": portal,
            "line": line,
            "event": event,
            "event_bytes": event_json,
            "checkpoint": checkpoint,
            "server_verified": verified,
            "records": _named_records(session, portal.principal, event["subjects"]),
            "subjects": sorted(event["subjects"].items()),
            "filter_kinds": tuple(export.ID_FILTERS),
            "payload_json": json.dumps(event["payload"], indent=1, sort_keys=True),
        },
    )
    response.headers["Content-Security-Policy"] = EVENT_PAGE_CSP
    return response


# -- checkpoints and witnesses -----------------------------------------------------------------


HISTORY_PAGE_SIZE = 20
CHECKPOINTS = "/portal/audit/checkpoints"


@router.get("/audit/checkpoints", dependencies=[WritingRead])
def checkpoints_page(
    request: Request,
    portal: AuditorSession,
    session: SessionDep,
    signer: SignerDep,
    services: ServicesDep,
    before: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
) -> Response:
    """The log now, the witnesses, and the kept tree heads newest first, a page at a time
    (`before`: the smallest size seen), each checked for consistency with the one below it."""
    notes = services.checkpoint_notes
    latest = service.latest_checkpoint(session, signer=signer)
    history = service.checkpoint_history(
        session, after=None, before=before, limit=HISTORY_PAGE_SIZE
    )
    service.check_history(session, history["items"])
    sizes = [item["tree_size"] for item in history["items"]]
    auditors.note_log_read(
        session, portal.principal, "audit_checkpoint", tree_size=latest["tree_size"]
    )
    auditors.note_log_read(
        session,
        portal.principal,
        "audit_checkpoints",
        after=None,
        before=before,
        limit=HISTORY_PAGE_SIZE,
        tree_sizes=[sizes[0], sizes[-1]] if sizes else [],
        count=len(sizes),
    )
    next_before = history["next_before"]
    return render(
        request,
        "audit_checkpoints.html",
        {
            "portal": portal,
            "latest": latest,
            "latest_note": notes.signed_checkpoint(session, tree_size=None),
            "verifier_key": notes.verifier(session).vkey,
            "witnesses": sorted(w.name for w in notes.witnesses.values()),
            "history": history["items"],
            "first_url": CHECKPOINTS if before is not None else None,
            "next_url": None if next_before is None else f"{CHECKPOINTS}?before={next_before}",
        },
    )


@router.get("/audit/checkpoints/{tree_size}/note")
def kept_note(portal: AuditorSession, session: SessionDep, tree_size: int) -> Response:
    """The kept signed note of one tree size, with the witnesses' cosignatures of it."""
    kept = service.kept_checkpoint(session, tree_size) if 0 <= tree_size < 2**53 else None
    if kept is None:
        raise NotFound()
    auditors.note_log_read(session, portal.principal, "audit_checkpoint", tree_size=tree_size)
    lines = "".join(c["signature_line"] for c in kept["cosignatures"])
    return Response(
        kept["note"] + lines,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="checkpoint-{tree_size}.txt"'},
    )


# -- activity per day --------------------------------------------------------------------------


def _days(days: int) -> tuple[list[str], datetime, datetime]:
    today = utcnow().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    since = datetime(first.year, first.month, first.day, tzinfo=UTC)
    until = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    return labels, since, until


def activity(session: Any, days: int) -> tuple[list[str], list[tuple[str, str, list[int]]]]:
    """(day labels, [(action, label, count per day)]) over the last `days` UTC days."""
    labels, since, until = _days(days)
    counts = service.events_per_day(
        session, actions=[a for a, _ in CHART_SERIES], since=since, until=until
    )
    series = [
        (action, label, [counts[action].get(day, 0) for day in labels])
        for action, label in CHART_SERIES
    ]
    return labels, series


DaysQuery = Annotated[int, Query(ge=1, le=366)]


def chart_svg(labels: list[str], series: list[tuple[str, str, list[int]]], days: int) -> bytes:
    """The chart as SVG (pygal), with a title and a description, and no script."""
    chart = pygal.Bar(
        js=[],
        disable_xml_declaration=True,
        title=f"Events per day, last {days} days (UTC)",
        x_label_rotation=60,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, len(labels) // 10),
        width=900,
        height=420,
        print_values=False,
        legend_at_bottom=True,
    )
    chart.x_labels = labels
    # Whole numbers on the y axis: events are counted, never fractional.
    top = max([max(values, default=0) for _a, _l, values in series], default=0)
    chart.y_labels = list(range(0, top + 1, max(1, -(-top // 10))))
    for _action, label, values in series:
        chart.add(label, values)
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.endswith("script"):  # pygal's JS config
                parent.remove(child)
    totals = ", ".join(f"{label}: {sum(values)}" for _a, label, values in series)
    # pygal's tree has plain tag names and the SVG namespace as an attribute of the root.
    title = ElementTree.Element("title", id="chart-title")
    title.text = f"Events per day by action, {labels[0]} to {labels[-1]} (UTC)"
    desc = ElementTree.Element("desc", id="chart-desc")
    desc.text = f"Bar chart of events per day. Totals: {totals}. The same numbers are in a table."
    tree.insert(0, desc)
    tree.insert(0, title)
    tree.set("role", "img")
    tree.set("aria-labelledby", "chart-title chart-desc")
    svg: bytes = ElementTree.tostring(tree, encoding="utf-8")
    return svg


@router.get("/audit/activity")
def activity_page(
    request: Request,
    portal: AuditorSession,
    session: SessionDep,
    days: DaysQuery = DEFAULT_DAYS,
) -> Response:
    labels, series = activity(session, days)
    rows = []
    for i, day in enumerate(labels):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC)
        span = {"from": rfc3339(start), "to": rfc3339(start + timedelta(days=1))}
        cells = [
            (values[i], f"{HOME}?{urlencode({**span, 'action': action})}")
            for action, _label, values in series
        ]
        rows.append((day, cells))
    return render(
        request,
        "audit_activity.html",
        {
            "portal": portal,
            "days": days,
            "day_choices": CHART_DAYS,
            "series": series,
            "rows": rows,
            "totals": [sum(values) for _a, _l, values in series],
        },
    )


@router.get("/audit/activity.svg")
def activity_chart(
    portal: AuditorSession, session: SessionDep, days: DaysQuery = DEFAULT_DAYS
) -> Response:
    labels, series = activity(session, days)
    return Response(
        chart_svg(labels, series, days),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": CHART_CSP},
    )
