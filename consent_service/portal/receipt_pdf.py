"""The consent receipt as a PDF: the printable receipt page's facts, laid out by fpdf2.

The same facts as `templates/receipt.html`, from the same verified receipt claims: who signed
and the signed name, what was agreed choice by choice, the notice fingerprint and how to check
the signature. Words and dates come from the pages' own filters (pages.words_for), in the
holder's language and time zone.

Names are any Unicode (`José Ñúñez`, `Zoë`, Cyrillic, Greek): the PDF core fonts know only
Latin-1, so the text is set in DejaVu Sans, shipped in this package (`fonts/`, with its
licence) rather than taken from the system, so that the receipt prints the same in a slim
container image as on a desktop. fpdf2 embeds only the glyphs used, with a ToUnicode map, so
the text can be searched, copied and read by screen readers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import as_file, files
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from consent_service import vocabulary
from consent_service.portal.pages import words_for

FONT = "DejaVuSans"
_FONTS = files("consent_service.portal").joinpath("fonts")
_WIDTH_LABEL = 55.0  # mm: the column of the labels


class _Receipt(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self._footer_text = footer_text
        for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
            with as_file(_FONTS.joinpath(name)) as path:
                self.add_font(FONT, style=style, fname=str(path))
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 5, f"{self._footer_text} · {self.page_no()}/{{nb}}", align="C")

    def heading(self, text: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font(FONT, "B", size)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def paragraph(self, text: str, size: int = 10) -> None:
        self.set_font(FONT, size=size)
        # Ragged right: fpdf2 justifies by default, which stretches lines holding a long URL.
        self.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def rows(self, pairs: list[tuple[str, str]]) -> None:
        """Label and value side by side, the value wrapping in its column."""
        for label, value in pairs:
            top = self.get_y()
            if top > self.h - 30:
                self.add_page()
                top = self.get_y()
            self.set_font(FONT, "B", 9)
            self.multi_cell(
                _WIDTH_LABEL - 3, 5, label, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            label_bottom = self.get_y()
            self.set_xy(self.l_margin + _WIDTH_LABEL, top)
            # A fingerprint (64 hex digits) stays on one line, to be compared at a glance.
            self.set_font(FONT, size=8 if len(value) > 40 and " " not in value else 10)
            self.multi_cell(0, 5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_y(max(self.get_y(), label_bottom) + 1)


def build(context: dict[str, Any], *, language: str, time_zone: str | None) -> bytes:
    """The PDF of the receipt page's `context` (portal/router.py `_receipt_context`)."""
    w = words_for(language, time_zone)
    _ = w["_"]
    claims: dict[str, Any] = context["claims"]
    grant = context["grant"]
    studio_name = str(context["studio_name"])
    service = claims["services"][0]["service"]
    # Kantara v1.1 names it consentReceiptID; receipts signed before that shape, receipt_id.
    receipt_id = str(claims.get("consentReceiptID") or claims.get("receipt_id") or "")
    signature = claims.get("signature") or {}
    signed_name = context["signed_name"] or _("(no longer held: the data was erased)")

    pdf = _Receipt(_("Consent receipt") + f" {receipt_id}")
    pdf.set_title(_("Consent receipt"))
    pdf.set_subject(f"{grant.id} {receipt_id}")
    pdf.set_creator("consent_service")
    pdf.set_lang(language)
    pdf.set_creation_date(datetime.now(UTC))
    pdf.add_page()

    pdf.heading(_("Consent receipt"), size=18)
    pdf.paragraph(
        _("Your consent to %(studio)s for “%(project)s”, as it stands:")
        % {"studio": studio_name, "project": service}
        + f" {w['words'](claims['consent_state'])} "
        + _("since %(moment)s.") % {"moment": w["when"](claims.get("state_changed_at"))}
    )

    pdf.heading(_("Who signed"))
    pdf.rows(
        [
            (_("Signed by"), w["words"](signature.get("role", ""))),
            (_("Signed name"), signed_name),
            (_("How"), w["words"](signature.get("method", "")) + ", " + _where(claims, _)),
            (_("When"), w["when"](signature.get("signed_at"))),
            (_("For"), _("holder") + f" {claims.get('sub', '')}"),
            (_("To"), f"{studio_name} ({grant.studio_id})"),
        ]
    )

    pdf.heading(_("What was agreed"))
    pdf.rows(
        [
            (_("Project"), service),
            (_("Parts of your likeness"), w["label"](claims.get("attributes") or [])),
            (_("Uses"), w["label"](claims.get("purposes") or [])),
            (_("Where it may be shown"), w["label"](claims.get("media") or [])),
            (_("Where in the world"), w["label"](claims.get("territories") or [])),
            (_("Never for"), w["label"](claims.get("prohibited_uses") or [])),
            (
                _("Valid"),
                _("from %(start)s until %(end)s")
                % {
                    "start": w["when"](claims.get("valid_from")),
                    "end": w["when"](claims.get("valid_until")),
                },
            ),
        ]
    )
    choices = context["choices"]
    if choices:
        pdf.heading(_("Choice by choice"), size=11)
        pdf.rows(
            [
                (
                    _(vocabulary.DIMENSIONS[c["dimension"]]).capitalize()
                    + ": "
                    + w["label"](c["item"]),
                    _("Yes") if c["accepted"] else _("No"),
                )
                for c in choices
            ]
        )
    else:
        pdf.paragraph(
            _("This request offered no separate choices: the terms above were accepted as a whole.")
        )

    controllers = claims.get("piiControllers") or []
    if controllers:  # receipts signed before the Kantara v1.1 shape name no controller
        controller = controllers[0]
        address = controller.get("address") or {}
        pdf.heading(_("Who answers for your data"))
        pdf.rows(
            [
                (_("Controller"), str(controller.get("piiController", ""))),
                (_("Contact"), str(controller.get("contact", ""))),
                (_("Address"), str(address.get("streetAddress", ""))),
                (_("Email"), str(controller.get("email", ""))),
                (_("Phone"), str(controller.get("phone", ""))),
                (_("Privacy policy"), str(claims.get("policyUrl", ""))),
                (_("Lawful basis"), _("your explicit consent (GDPR Art. 9(2)(a))")),
            ]
        )

    pdf.heading(_("How to check this receipt"))
    check = [(_("Notice fingerprint (SHA-256)"), str(claims["notice"]["sha256"]))]
    if claims.get("choices_sha256"):
        check.append((_("Notice and choices fingerprint"), str(claims["choices_sha256"])))
    check += [
        (_("Receipt"), f"{receipt_id}, {w['when'](claims.get('iat'))}"),
        (_("Signing key"), str(context["kid"])),
        (_("Audit log entry"), str(claims.get("audit_seq", ""))),
    ]
    pdf.rows(check)
    for number, step in enumerate(
        (
            _(
                "The registry checked the signature of this receipt when it made this "
                "document: it is valid."
            ),
            _(
                "To check it yourself, download the signed receipt file (a “JWS”, a standard "
                "signed document) from your consent's page and the registry’s public keys at "
                "%(url)s. Any JOSE software verifies it with the key named above (algorithm ES256)."
            )
            % {"url": context["jwks_url"]},
            _(
                "The notice fingerprint is the SHA-256 of the exact notice text you were shown: "
                "the notice page shows the same value under the text."
            ),
        ),
        start=1,
    ):
        pdf.paragraph(f"{number}. {step}")
    return bytes(pdf.output())


def _where(claims: dict[str, Any], _: Callable[[str], str]) -> str:
    """Where the consent was given, from the receipt's Kantara `collectionMethod`."""
    method = str(claims.get("collectionMethod", ""))
    if method.startswith("portal:"):
        return _("in this portal")
    if method.startswith("api:"):
        return _("through the registry's API")
    return _("(where was not recorded)")
