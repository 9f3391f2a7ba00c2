"""The text of every mail the registry sends a person.

Every sentence is a message of the `mail` gettext catalogue (`mail/locale/<lang>/LC_MESSAGES/
mail.po`, read by `consent_service.catalogues`): a mail is written in the language the person
chose (`Context.language`), English when none. After adding or changing a sentence, run
`scripts/update-catalogues` and translate what it adds (docs/operations.md, "Languages").

Rules (docs/holders.md, "Mail we send"): a message names the person and nothing else about
them; it says what happened in plain words and links to the portal page where the details are
(behind sign-in); a link carries nothing beyond a single-use token. Studio names are the
organisation's public name. No personal data of anyone else, no consent terms in the mail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel.dates import format_date

from consent_service import catalogues
from consent_service.catalogues import N_


@dataclass(frozen=True, slots=True)
class Text:
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class Context:
    name: str  # how the person is addressed: their stage name, else their legal name
    base_url: str  # the portal's public base, e.g. https://consent.example
    params: Mapping[str, Any]  # ids and public names from the message's payload
    secrets: Mapping[str, str]  # single-use tokens, opened from the sealed payload
    # The language the person chose (en, es, fr); the words come from `mail/locale`.
    language: str = field(default="en")

    def link(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"

    def _(self, message: str, **values: Any) -> str:
        """`message` in the person's language, with `values` put in (`%(name)s`)."""
        translated = catalogues.translations(
            "consent_service.mail", "mail", catalogues.supported(self.language)
        ).gettext(message)
        return translated % values if values else translated

    def day(self, key: str, fallback: str) -> str:
        """A day from the payload in words in the person's language (`1 December 2026`).

        New messages carry the ISO date (`<key>_date`); older ones the English words."""
        iso = self.params.get(f"{key}_date")
        if iso:
            language = catalogues.supported(self.language)
            return format_date(
                date.fromisoformat(str(iso)),
                "long",
                locale="en_GB" if language == "en" else language,
            )
        return str(self.params.get(key) or self._(fallback))


def footer(c: Context) -> str:
    return "\n\n" + c._(
        "You get this message because your likeness is registered with this consent registry."
        "\nNever share a link from this message: it works once, for you."
    )


def _hello(c: Context) -> str:
    return c._("Hello %(name)s,", name=c.name) + "\n\n"


def _studio(c: Context, fallback: str) -> str:
    return str(c.params.get("studio_name") or c._(fallback))


def _new_request(c: Context) -> Text:
    studio = _studio(c, N_("A studio"))
    return Text(
        subject=c._("%(studio)s asks for your consent", studio=studio),
        body=(
            _hello(c)
            + c._(
                "%(studio)s asks for your consent to use your likeness. Nothing is allowed until "
                "you agree, and you may decline.",
                studio=studio,
            )
            + "\n\n"
            + c._("Read exactly what they propose, and decide, in your portal:")
            + "\n"
            + c.link("/portal/requests/" + str(c.params["request_id"]))
        ),
    )


def _granted(c: Context) -> Text:
    studio = _studio(c, N_("the studio"))
    return Text(
        subject=c._("Your consent to %(studio)s: your receipt", studio=studio),
        body=(
            _hello(c)
            + c._(
                "You gave your consent to %(studio)s. Your signed receipt and what you agreed to "
                "are in your portal; you can withdraw at any time, as easily as you gave it:",
                studio=studio,
            )
            + "\n"
            + c.link("/portal/consents/" + str(c.params["consent_id"]))
        ),
    )


def _withdrawn(c: Context) -> Text:
    studio = _studio(c, N_("the studio"))
    return Text(
        subject=c._("You withdrew your consent to %(studio)s", studio=studio),
        body=(
            _hello(c)
            + c._(
                "Your withdrawal is recorded. The licences of %(studio)s under this consent "
                "stopped working at once. Your signed receipt is in your portal:",
                studio=studio,
            )
            + "\n"
            + c.link("/portal/consents/" + str(c.params["consent_id"]))
        ),
    )


def _licence_issued(c: Context) -> Text:
    studio = _studio(c, N_("A studio"))
    return Text(
        subject=c._("%(studio)s received a licence under your consent", studio=studio),
        body=(
            _hello(c)
            + c._(
                "%(studio)s received a licence under a consent you gave. It allows only what you "
                "agreed to. See it, or withdraw your consent, in your portal:",
                studio=studio,
            )
            + "\n"
            + c.link("/portal/consents/" + str(c.params["consent_id"]))
        ),
    )


def _ending_soon(c: Context) -> Text:
    studio = _studio(c, N_("a studio"))
    ends = c.day("ends_on", N_("soon"))
    return Text(
        subject=c._("Your consent to %(studio)s ends on %(day)s", studio=studio, day=ends),
        body=(
            _hello(c)
            + c._(
                "Your consent to %(studio)s ends on %(day)s. After that day they may no longer "
                "use your likeness under it. Nothing is needed from you; if they want more time "
                "they must ask you again.",
                studio=studio,
                day=ends,
            )
            + "\n"
            + c.link("/portal/consents/" + str(c.params["consent_id"]))
        ),
    )


def _verification_decided(c: Context) -> Text:
    approved = c.params.get("outcome") == "approved"
    return Text(
        subject=(
            c._("Your identity check: approved")
            if approved
            else c._("Your identity check: not approved")
        ),
        body=(
            _hello(c)
            + (
                c._("Our staff checked your identity evidence and approved it.")
                if approved
                else c._(
                    "Our staff checked your identity evidence and could not approve it. "
                    "The reason, and how to try again, are in your portal."
                )
            )
            + "\n"
            + c.link("/portal")
        ),
    )


def _confirm_email(c: Context) -> Text:
    return Text(
        subject=c._("Confirm your email address"),
        body=(
            _hello(c)
            + c._(
                "Please confirm that this address is yours. Until you do, you cannot give "
                "consent to anyone. Open this link within 7 days:"
            )
            + "\n"
            + c.link("/portal/confirm-email?token=" + c.secrets["token"])
            + "\n\n"
            + c._("If you did not sign up, ignore this message: nothing happens without the link.")
        ),
    )


def _already_registered(c: Context) -> Text:
    return Text(
        subject=c._("Someone tried to sign up with your address"),
        body=(
            _hello(c)
            + c._(
                "Someone tried to create an account with this email address, which already has "
                "one. If it was you, sign in instead; if you forgot your password, reset it here:"
            )
            + "\n"
            + c.link("/portal/forgot-password")
            + "\n\n"
            + c._("If it was not you, you need do nothing: no account was created or changed.")
        ),
    )


def _password_reset(c: Context) -> Text:
    return Text(
        subject=c._("Reset your password"),
        body=(
            _hello(c)
            + c._(
                "Someone (we hope you) asked to reset the password of your account. This link "
                "works once, for 30 minutes:"
            )
            + "\n"
            + c.link("/portal/reset-password?token=" + c.secrets["token"])
            + "\n\n"
            + c._("If you did not ask, ignore this message: your password stays as it is.")
        ),
    )


def _password_changed(c: Context) -> Text:
    return Text(
        subject=c._("Your password was changed"),
        body=(
            _hello(c)
            + c._(
                "The password of your account was just changed, and every other signed-in "
                "session was signed out. If this was not you, reset your password now:"
            )
            + "\n"
            + c.link("/portal/forgot-password")
        ),
    )


def _invitation(c: Context) -> Text:
    studio = _studio(c, N_("A studio"))
    ends = c.day("expires_on", N_("in 14 days"))
    token = c.secrets["token"]
    return Text(
        subject=c._("%(studio)s invites you to a consent registry", studio=studio),
        body=(
            c._("Hello,")
            + "\n\n"
            + c._(
                "%(studio)s invites you to register your likeness with this consent registry, "
                "so that they can ask for your consent to use it. Accepting tells them your "
                "registry id; nothing is allowed until you give your consent, and you may "
                "decline.",
                studio=studio,
            )
            + "\n\n"
            + c._("New here? Create your account and accept:")
            + "\n"
            + c.link("/portal/sign-up?invitation=" + token)
            + "\n\n"
            + c._("Already registered? Sign in and accept:")
            + "\n"
            + c.link("/portal/login?invitation=" + token)
            + "\n\n"
            + c._("Or read the invitation, and accept or decline it:")
            + "\n"
            + c.link("/portal/invitations/accept?token=" + token)
            + "\n\n"
            + c._("The invitation works once and ends on %(day)s.", day=ends)
        ),
    )


def invitation_footer(c: Context) -> str:
    return "\n\n" + c._(
        "You get this message because a studio entered this address. If you ignore it, the "
        "address is erased when the invitation ends.\nNever share a link from this message: it "
        "works once, for you."
    )


MESSAGES: Mapping[str, Callable[[Context], Text]] = {
    "account.confirm_email": _confirm_email,
    "account.already_registered": _already_registered,
    "account.password_reset": _password_reset,
    "account.password_changed": _password_changed,
    "consent_request.new": _new_request,
    "consent.granted": _granted,
    "consent.withdrawn": _withdrawn,
    "licence.issued": _licence_issued,
    "consent.ending_soon": _ending_soon,
    "verification.decided": _verification_decided,
    "invitation.new": _invitation,
}
# Mail to someone who may not be registered at all.
FOOTERS: Mapping[str, Callable[[Context], str]] = {"invitation.new": invitation_footer}


def render(kind: str, context: Context) -> Text:
    text = MESSAGES[kind](context)
    return Text(subject=text.subject, body=text.body + FOOTERS.get(kind, footer)(context) + "\n")
