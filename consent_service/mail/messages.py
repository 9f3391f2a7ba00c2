"""The text of every mail the registry sends a person.

Rules (docs/holders.md, "Mail we send"): a message names the person and nothing else about
them; it says what happened in plain words and links to the portal page where the details are
(behind sign-in); a link carries nothing beyond a single-use token. Studio names are the
organisation's public name. No personal data of anyone else, no consent terms in the mail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


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

    def link(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"


FOOTER = (
    "\n\nYou get this message because your likeness is registered with this consent registry."
    "\nNever share a link from this message: it works once, for you."
)


def _new_request(c: Context) -> Text:
    studio = c.params.get("studio_name", "A studio")
    return Text(
        subject=f"{studio} asks for your consent",
        body=(
            f"Hello {c.name},\n\n"
            f"{studio} asks for your consent to use your likeness. Nothing is allowed until you "
            "agree, and you may decline.\n\n"
            "Read exactly what they propose, and decide, in your portal:\n"
            f"{c.link('/portal/requests/' + str(c.params['request_id']))}"
        ),
    )


def _granted(c: Context) -> Text:
    studio = c.params.get("studio_name", "the studio")
    return Text(
        subject=f"Your consent to {studio}: your receipt",
        body=(
            f"Hello {c.name},\n\n"
            f"You gave your consent to {studio}. Your signed receipt and what you agreed to are "
            "in your portal; you can withdraw at any time, as easily as you gave it:\n"
            f"{c.link('/portal/consents/' + str(c.params['consent_id']))}"
        ),
    )


def _withdrawn(c: Context) -> Text:
    studio = c.params.get("studio_name", "the studio")
    return Text(
        subject=f"You withdrew your consent to {studio}",
        body=(
            f"Hello {c.name},\n\n"
            f"Your withdrawal is recorded. {studio}'s licences under this consent stopped "
            "working at once. Your signed receipt is in your portal:\n"
            f"{c.link('/portal/consents/' + str(c.params['consent_id']))}"
        ),
    )


def _licence_issued(c: Context) -> Text:
    studio = c.params.get("studio_name", "A studio")
    return Text(
        subject=f"{studio} received a licence under your consent",
        body=(
            f"Hello {c.name},\n\n"
            f"{studio} received a licence under a consent you gave. It allows only what you "
            "agreed to. See it, or withdraw your consent, in your portal:\n"
            f"{c.link('/portal/consents/' + str(c.params['consent_id']))}"
        ),
    )


def _ending_soon(c: Context) -> Text:
    studio = c.params.get("studio_name", "a studio")
    ends = c.params.get("ends_on", "soon")
    return Text(
        subject=f"Your consent to {studio} ends on {ends}",
        body=(
            f"Hello {c.name},\n\n"
            f"Your consent to {studio} ends on {ends}. After that day they may no longer use "
            "your likeness under it. Nothing is needed from you; if they want more time they "
            "must ask you again.\n"
            f"{c.link('/portal/consents/' + str(c.params['consent_id']))}"
        ),
    )


def _verification_decided(c: Context) -> Text:
    approved = c.params.get("outcome") == "approved"
    return Text(
        subject="Your identity check: " + ("approved" if approved else "not approved"),
        body=(
            f"Hello {c.name},\n\n"
            + (
                "Our staff checked your identity evidence and approved it."
                if approved
                else "Our staff checked your identity evidence and could not approve it. "
                "The reason, and how to try again, are in your portal."
            )
            + f"\n{c.link('/portal')}"
        ),
    )


def _confirm_email(c: Context) -> Text:
    return Text(
        subject="Confirm your email address",
        body=(
            f"Hello {c.name},\n\n"
            "Please confirm that this address is yours. Until you do, you cannot give consent "
            "to anyone. Open this link within 7 days:\n"
            f"{c.link('/portal/confirm-email?token=' + c.secrets['token'])}\n\n"
            "If you did not sign up, ignore this message: nothing happens without the link."
        ),
    )


def _already_registered(c: Context) -> Text:
    return Text(
        subject="Someone tried to sign up with your address",
        body=(
            f"Hello {c.name},\n\n"
            "Someone tried to create an account with this email address, which already has "
            "one. If it was you, sign in instead; if you forgot your password, reset it here:\n"
            f"{c.link('/portal/forgot-password')}\n\n"
            "If it was not you, you need do nothing: no account was created or changed."
        ),
    )


def _password_reset(c: Context) -> Text:
    return Text(
        subject="Reset your password",
        body=(
            f"Hello {c.name},\n\n"
            "Someone (we hope you) asked to reset the password of your account. This link "
            "works once, for 30 minutes:\n"
            f"{c.link('/portal/reset-password?token=' + c.secrets['token'])}\n\n"
            "If you did not ask, ignore this message: your password stays as it is."
        ),
    )


def _password_changed(c: Context) -> Text:
    return Text(
        subject="Your password was changed",
        body=(
            f"Hello {c.name},\n\n"
            "The password of your account was just changed, and every other signed-in session "
            "was signed out. If this was not you, reset your password now:\n"
            f"{c.link('/portal/forgot-password')}"
        ),
    )


def _invitation(c: Context) -> Text:
    studio = c.params.get("studio_name", "A studio")
    ends = c.params.get("expires_on", "in 14 days")
    token = c.secrets["token"]
    return Text(
        subject=f"{studio} invites you to a consent registry",
        body=(
            "Hello,\n\n"
            f"{studio} invites you to register your likeness with this consent registry, so "
            "that they can ask for your consent to use it. Accepting tells them your registry "
            "id; nothing is allowed until you give your consent, and you may decline.\n\n"
            "New here? Create your account and accept:\n"
            f"{c.link('/portal/sign-up?invitation=' + token)}\n\n"
            "Already registered? Sign in and accept:\n"
            f"{c.link('/portal/login?invitation=' + token)}\n\n"
            "Or read the invitation, and accept or decline it:\n"
            f"{c.link('/portal/invitations/accept?token=' + token)}\n\n"
            f"The invitation works once and ends on {ends}."
        ),
    )


INVITATION_FOOTER = (
    "\n\nYou get this message because a studio entered this address. If you ignore it, the "
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
FOOTERS: Mapping[str, str] = {"invitation.new": INVITATION_FOOTER}


def render(kind: str, context: Context) -> Text:
    text = MESSAGES[kind](context)
    return Text(subject=text.subject, body=text.body + FOOTERS.get(kind, FOOTER) + "\n")
