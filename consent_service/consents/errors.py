"""The consent domain's problems (each with its own `code`, see errors.DomainError)."""

from __future__ import annotations

from consent_service.errors import Conflict, DomainError, NotFound


class RequestNotFound(NotFound):
    code, title = "consent_request_not_found", "No such consent request"


class ConsentNotFound(NotFound):
    code, title = "consent_not_found", "No such consent"


class RequestAlreadyDecided(Conflict):
    code, title = "request_already_decided", "This request was already accepted or declined"


class NoticeHashMismatch(DomainError):
    code, status, title = (
        "notice_hash_mismatch",
        422,
        "The notice hash does not match the notice served with this request",
    )


class ConsentNotActive(Conflict):
    code, title = "consent_not_active", "The consent is not in a state that allows this"


class NotPermitted(DomainError):
    """The caller sees the object but its role may not do this (e.g. an agent signing)."""

    code, status, title = "not_permitted", 403, "Your role may not do this"


class UnsupportedLanguage(DomainError):
    code, status, title = "unsupported_language", 422, "No notice template in this language"


class HolderNotVerified(Conflict):
    """The holder's identity assurance is below what the request and the deployment need."""

    code, title = "holder_not_verified", "The holder's identity is not verified to the level needed"


class CourtApprovalNotVerified(Conflict):
    """A minor's grant needs a court approval, reviewed by a verifier, naming the request."""

    code, title = (
        "court_approval_not_verified",
        "No approved court approval names this request",
    )


class ChoiceNotOffered(DomainError):
    """The acceptance names an item the request did not offer as a separate choice."""

    code, status, title = (
        "choice_not_offered",
        422,
        "You accepted a choice that this request does not offer",
    )


class ChoicesHashMismatch(DomainError):
    """`choices_sha256` is missing or does not bind this notice and these choices."""

    code, status, title = (
        "choices_hash_mismatch",
        422,
        "The choices hash does not match this notice and these choices",
    )


class NoticeLanguageMismatch(DomainError):
    """The quoted hash is of this request's notice, but in another language than accepted."""

    code, status, title = (
        "notice_language_mismatch",
        422,
        "The notice hash is of the notice in another language",
    )
