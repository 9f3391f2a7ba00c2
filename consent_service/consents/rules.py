"""The consent rules in code: the vocabularies and the rules a consent must satisfy.

`docs/consent.md` explains them in plain words: each rule here is one short function or block,
with its source tag in a comment. Rules marked *enforce* raise
`TermsRefused` (HTTP 422) with a code that names the rule; rules marked *flag* return a
`Warning`, which the request and the grant carry in `warnings` without refusing.

Sources: NF = NO FAKES Act bill; CA = Cal. Labor Code §927 / Civil Code §3344.1; NY = N.Y. Gen.
Oblig. Law §5-302; TN = ELVIS Act; SAG = SAG-AFTRA agreements; G = GDPR; ISO = ISO 3166-1/-2
(as published in the `pycountry` data); IDENTITY = the project's identity design (post-mortem
table, collective agreements registry).

Not legal advice: this is the product's codification of the rules, kept in one place so that a
lawyer can read it. The module is pure (no database, no clock): callers pass `now`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pycountry

from consent_service.errors import RuleViolation
from consent_service.licences.scope import WORLDWIDE

# -- Vocabularies (CONSENT_RULES.md "What a grant must contain"; licences import these) ---------

ATTRIBUTES = frozenset({"face", "voice", "body"})
PURPOSES = frozenset(
    {
        "film_tv",
        "advertising",
        "video_game",
        "dubbing_localisation",
        "ai_training",
        "news_documentary",
        "parody_satire",
        "music_video",
        "live_performance",
    }
)
MEDIA = frozenset(
    {
        "theatrical",
        "streaming",
        "broadcast",
        "online",
        "social_media",
        "print",
        "in_game",
        "outdoor",
        "live_event",
    }
)
# ISO 3166-1 alpha-2, officially assigned codes, from the ISO data shipped with `pycountry`
# (not a hand-kept list or a regex: a code that merely looks right, like "XX", is refused). (ISO)
ISO_3166_ALPHA2 = frozenset(country.alpha_2 for country in pycountry.countries)
# ISO 3166-2 subdivision codes ("US-CA", "GB-SCT"). (ISO)
ISO_3166_2 = frozenset(subdivision.code for subdivision in pycountry.subdivisions)
TERRITORIES = ISO_3166_ALPHA2 | {WORLDWIDE}
# ISO 4217 alphabetic currency codes, from the same `pycountry` data; without XXX ("no
# currency") and XTS (reserved for testing), which name no money a person could be paid in.
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies) - {"XXX", "XTS"}


def is_jurisdiction(code: str) -> bool:
    """A holder's jurisdiction: an ISO 3166-1 alpha-2 country or an ISO 3166-2 subdivision."""
    return code in ISO_3166_ALPHA2 or code in ISO_3166_2


DEFAULT_PROHIBITED_USES = ("sexual_content", "political_endorsement", "defamatory_content")
# Content categories a use may declare (`use.categories` at verification); the defaults above
# are all of them today.
CONTENT_CATEGORIES = DEFAULT_PROHIBITED_USES
# What `prohibited_uses` may name: whatever a use is checked against (licences/verifier.py).
PROHIBITABLE = frozenset(CONTENT_CATEGORIES) | ATTRIBUTES | PURPOSES | MEDIA
REPLICA_TYPES = frozenset({"employment_based", "independently_created"})
REPRESENTATION_KINDS = frozenset({"lawyer", "union", "none"})
GRANT_STATUSES = frozenset(
    {"active", "withdrawn", "revoked", "suspended", "expired", "ended_by_death"}
)
# Signature roles (CONSENT_RULES.md "Signature").
SIGNER_ROLES = frozenset({"self", "representative", "guardian", "executor"})

MIN_DESCRIPTION_CHARS = 80
# Filler: a description needs at least this many distinct words (of two letters or more) after
# normalisation, so "film film film …" padded to 80 characters does not pass. (NF, CA, NY, SAG)
MIN_DISTINCT_WORDS = 10
# The blanket phrases CONSENT_RULES.md names, as they are written. (NF, CA, NY, SAG)
BLANKET_PHRASES = (
    "any purpose",
    "all purposes",
    "all media",
    "any media",
    "in perpetuity",
    "perpetual",
    "now known or hereafter devised",
    "hereafter devised",
    "throughout the universe",
)
# Their paraphrases, refused as they are (CONSENT_RULES.md "Added after probing"). Matched on
# the normalised word sequence (letters only, casefolded, one space between words), so
# punctuation, hyphens, case, full-width letters and zero-width characters do not hide them.
_QUANTIFIER = r"(?:any|all|every|each|whatever|whichever|unlimited|unrestricted)"
_CONNECTOR = r"(?:and|or|other|such|kind|kinds|type|types|of|all|any|every|possible|future|conceivable|further|manner|form|forms)"  # noqa: E501
_SCOPE = (
    r"(?:purposes?|uses?|usages?|media|mediums?|formats?|platforms?|channels?|manners?|forms?"
    r"|exploitations?|applications?)"
)
BLANKET_PARAPHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(rf"\b(?:{pattern})\b"))
    for label, pattern in (
        # "any purpose", "all media": a quantifier over the scope, with connectors between
        # ("any and all purposes", "all other media", "every kind of use").
        ("any purpose / all media", rf"{_QUANTIFIER}(?: {_CONNECTOR}){{0,3}} {_SCOPE}"),
        ("without limitation", r"without (?:any )?(?:limitation|limit|restriction)s?"),
        (
            "in perpetuity",
            r"in perpetuity|in perpetuum|perpetual(?:ly)?|forever|for ever|for all time"
            r"|eternal(?:ly)?|for eternity|indefinite(?:ly)?|(?:no|without(?: any)?) time limits?"
            r"|unlimited (?:time|period|duration|term)",
        ),
        (
            "now known or hereafter devised",
            r"hereafter (?:devised|developed|invented|created|known|discovered|existing)"
            r"|(?:later|subsequently) (?:devised|developed|invented|discovered)"
            r"|yet to be (?:devised|developed|invented|discovered|created)"
            r"|not yet (?:devised|developed|invented|known|existing)"
            r"|now (?:known|existing) or (?:hereafter|later|future|in the future)"
            r"|now or (?:hereafter|in the future)",
        ),
        (
            "throughout the universe",
            r"(?:throughout|anywhere in|everywhere in|across|all over) the universe"
            r"|universe wide",
        ),
    )
)
ADULT_MAX_TERM_YEARS = 10
MINOR_MAX_TERM_YEARS = 5
SHORT_NOTICE = timedelta(hours=48)
# Jurisdictions whose digital-replica statutes void unrepresented replacement clauses.
REPRESENTATION_STATUTE_JURISDICTIONS = frozenset({"US-CA", "US-NY"})


# -- Outcomes ------------------------------------------------------------------------------


class TermsRefused(RuleViolation):
    """An *enforce* rule refused the terms or the acceptance; `code` names the rule."""

    def __init__(self, code: str, detail: str, *, source: str, field: str | None = None):
        errors = [{"field": field or "", "code": code, "message": detail}]
        super().__init__(detail, rule=code, source=source, errors=errors)
        self.code = code


@dataclass(frozen=True, slots=True)
class Warning:
    """A *flag* rule that applies: reported, not refused."""

    code: str
    source: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class HolderFacts:
    """What the rules need to know about the holder, computed by the caller for one day."""

    status: str  # "living_adult" | "minor" | "deceased"
    jurisdiction: str
    eighteenth_birthday: date | None = None
    post_mortem_rights_until: date | None = None


@dataclass(frozen=True, slots=True)
class CollectiveAgreement:
    """A collective agreement from the registry an admin keeps (never typed by a studio)."""

    id: str
    name: str
    union: str
    covers_replicas: bool
    valid_from: date
    valid_until: date

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


@dataclass(frozen=True, slots=True)
class Assessment:
    """The result of checking terms: the effective term after caps, and the warnings."""

    valid_from: datetime
    valid_until: datetime  # effective end: after the 18th-birthday and post-mortem caps
    warnings: list[Warning]


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, month=3, day=1)


# -- What a grant must contain ---------------------------------------------------------------


def _subset(values: list[str], vocabulary: frozenset[str], *, name: str, unknown: str) -> None:
    # Non-empty subset of a closed vocabulary: nothing is implied, so `ai_training` can never
    # ride along with another purpose. (enforce; NF, TN, G Art. 9, SAG)
    if not values:
        raise TermsRefused(
            f"{name}_required",
            f"terms.{name} must name at least one item",
            source="NF",
            field=f"terms.{name}",
        )
    strangers = sorted(set(values) - vocabulary)
    if strangers:
        raise TermsRefused(
            unknown,
            f"terms.{name} has items outside the vocabulary: {', '.join(strangers)}",
            source="NF, TN, G Art. 9, SAG",
            field=f"terms.{name}",
        )


def check_attributes(attributes: list[str]) -> None:
    # attributes: non-empty subset of face, voice, body. (enforce; NF, TN)
    _subset(attributes, ATTRIBUTES, name="attributes", unknown="unknown_attribute")


def check_purposes(purposes: list[str]) -> None:
    # purposes: non-empty subset of the vocabulary; ai_training never implied. (enforce; G, SAG)
    _subset(purposes, PURPOSES, name="purposes", unknown="unknown_purpose")


def normalise_text(text: str) -> str:
    """NFKC-normalised text with format characters (Unicode category Cf) removed.

    NFKC folds look-alike forms (full-width letters, ligatures, superscripts) to their plain
    letters; removing Cf drops zero-width spaces and joiners, soft hyphens and bidirectional
    controls, which are invisible to a reader but would split a phrase for a naive check.
    Whitespace runs become one space.
    """
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


def _words(text: str) -> list[str]:
    # Letters only: "any-purpose", "any_purpose" and "any.purpose" are the words "any purpose".
    return re.findall(r"[^\W\d_]+", text.casefold())


def blanket_wording(text: str) -> list[str]:
    """The blanket phrases (or paraphrases) found in `text`, as written; empty when none.

    Checked twice: with format characters removed ("pur<ZWSP>pose" is "purpose") and with them
    read as word breaks ("any<ZWSP>purpose" is "any purpose"), so neither placement hides one.
    """
    folded = unicodedata.normalize("NFKC", text)
    variants = (
        normalise_text(folded),
        "".join(" " if unicodedata.category(ch) == "Cf" else ch for ch in folded),
    )
    found: set[str] = set()
    for variant in variants:
        phrase = " ".join(_words(variant))
        found.update(p for p in BLANKET_PHRASES if f" {p} " in f" {phrase} ")
        for _label, pattern in BLANKET_PARAPHRASES:
            found.update(match.group(0) for match in pattern.finditer(phrase))
    return sorted(found)


def check_description(description: str) -> None:
    # A reasonably specific description, at least 80 characters, with no blanket phrases, judged
    # on NFKC-normalised text with format characters removed; filler (too few distinct words)
    # and paraphrases of the blanket phrases are refused as they are. (enforce; NF, CA, NY, SAG)
    text = normalise_text(description)
    if len(text) < MIN_DESCRIPTION_CHARS:
        raise TermsRefused(
            "description_not_specific",
            f"intended_use_description must be at least {MIN_DESCRIPTION_CHARS} characters "
            "that say what will be made and where it will be shown",
            source="NF, CA, NY, SAG",
            field="terms.intended_use_description",
        )
    distinct = {word for word in _words(text) if len(word) >= 2}
    if len(distinct) < MIN_DISTINCT_WORDS:
        raise TermsRefused(
            "description_not_specific",
            f"intended_use_description must use at least {MIN_DISTINCT_WORDS} different words: "
            "say what will be made, for which scenes or pieces, and where it will be shown",
            source="NF, CA, NY, SAG",
            field="terms.intended_use_description",
        )
    blanket = blanket_wording(description)
    if blanket:
        raise TermsRefused(
            "description_not_specific",
            f"intended_use_description relies on blanket wording ({'; '.join(blanket)}); "
            "describe the actual use",
            source="NF, CA, NY, SAG",
            field="terms.intended_use_description",
        )


def check_project(project: str) -> None:
    # project: the production or campaign name. (enforce)
    if not project.strip():
        raise TermsRefused(
            "project_required",
            "terms.project must name the production",
            source="SAG",
            field="terms.project",
        )


def check_territories(territories: list[str]) -> None:
    # territories: ISO 3166-1 alpha-2 codes or WORLDWIDE. (enforce)
    _subset(territories, TERRITORIES, name="territories", unknown="unknown_territory")
    if WORLDWIDE in territories and len(set(territories)) > 1:
        raise TermsRefused(
            "unknown_territory",
            "WORLDWIDE already covers every country: give it alone",
            source="product",
            field="terms.territories",
        )


def check_media(media: list[str]) -> None:
    # media: non-empty subset of the media vocabulary. (enforce)
    _subset(media, MEDIA, name="media", unknown="unknown_medium")


def check_prohibited_uses(prohibited_uses: list[str]) -> list[Warning]:
    # prohibited_uses default to sexual_content, political_endorsement, defamatory_content; the
    # holder may remove items explicitly. (product) We say so in the warnings, so nobody
    # accepts a removal without seeing it. Each item is a content category or one of the
    # attributes, purposes and media, since a use is checked against exactly those (licences/
    # verifier.py): a word outside them could never match a use, so it would promise the holder
    # a protection that does nothing. (enforce)
    strangers = sorted(set(prohibited_uses) - PROHIBITABLE)
    if strangers:
        raise TermsRefused(
            "unknown_prohibited_use",
            "terms.prohibited_uses has items that no use can be checked against: "
            f"{', '.join(strangers)}; use a content category ({', '.join(CONTENT_CATEGORIES)}) "
            "or an attribute, purpose or medium",
            source="product",
            field="terms.prohibited_uses",
        )
    removed = [u for u in DEFAULT_PROHIBITED_USES if u not in prohibited_uses]
    if not removed:
        return []
    return [
        Warning(
            "default_prohibited_use_removed",
            "product",
            f"these default prohibited uses are allowed by these terms: {', '.join(removed)}",
        )
    ]


def check_compensation(compensation: dict[str, Any] | None) -> None:
    # compensation.currency: an ISO 4217 code in circulation, not merely three capitals. (ISO)
    currency = (compensation or {}).get("currency")
    if currency is not None and currency not in CURRENCIES:
        raise TermsRefused(
            "unknown_currency",
            f"terms.compensation.currency {currency!r} is not an ISO 4217 currency code",
            source="ISO",
            field="terms.compensation.currency",
        )


def check_replica_type(replica_type: str) -> None:
    # replica_type: employment_based or independently_created. (CA, NY, SAG)
    if replica_type not in REPLICA_TYPES:
        raise TermsRefused(
            "unknown_replica_type",
            "terms.replica_type must be employment_based or independently_created",
            source="CA, NY, SAG",
            field="terms.replica_type",
        )


def check_representation(representation: dict[str, Any]) -> None:
    # representation: lawyer (terms initialled), union (agreement id) or none. (CA, NY)
    kind = representation.get("kind")
    if "covers_replicas" in representation:
        # Union cover comes from the registry of collective agreements, never from the studio's
        # word: a studio could otherwise lift the term cap by typing `true`. (enforce; IDENTITY)
        raise TermsRefused(
            "covers_replicas_from_registry",
            "covers_replicas is not typed: name a collective agreement from "
            "/v1/collective-agreements by its id (representation.agreement_id); whether it "
            "covers replicas is read from the registry",
            source="IDENTITY, NF",
            field="terms.representation.covers_replicas",
        )
    if kind == "lawyer" and representation.get("terms_initialled") is not True:
        raise TermsRefused(
            "lawyer_initials_required",
            "a lawyer's representation needs the terms initialled (terms_initialled: true)",
            source="CA, NY",
            field="terms.representation",
        )
    if kind == "union" and not representation.get("agreement_id"):
        raise TermsRefused(
            "union_agreement_required",
            "union representation needs the collective agreement's id",
            source="CA, NY, SAG",
            field="terms.representation",
        )


def check_collective_agreement(
    representation: dict[str, Any], agreement: CollectiveAgreement | None, *, signing_day: date
) -> None:
    # Union cover counts only for an agreement in the registry's own list, in force on the day
    # of signing (the day the request is made, and again the day it is accepted). (enforce;
    # IDENTITY "Collective agreements", SAG)
    if representation.get("kind") != "union":
        return
    if agreement is None or agreement.id != representation.get("agreement_id"):
        raise TermsRefused(
            "unknown_collective_agreement",
            "representation.agreement_id names no collective agreement in the registry "
            "(see GET /v1/collective-agreements)",
            source="IDENTITY, SAG",
            field="terms.representation.agreement_id",
        )
    if not agreement.in_force_on(signing_day):
        raise TermsRefused(
            "collective_agreement_not_in_force",
            f"the collective agreement {agreement.name!r} is in force from "
            f"{agreement.valid_from.isoformat()} to {agreement.valid_until.isoformat()}, "
            f"not on {signing_day.isoformat()}",
            source="IDENTITY, SAG",
            field="terms.representation.agreement_id",
        )


def union_covers_replicas(
    representation: dict[str, Any], agreement: CollectiveAgreement | None
) -> bool:
    """Union representation under a registered agreement that covers digital replicas."""
    return (
        representation.get("kind") == "union"
        and agreement is not None
        and agreement.id == representation.get("agreement_id")
        and agreement.covers_replicas
    )


def flag_enforceability_risk(
    *,
    representation: dict[str, Any],
    replaces_in_person_work: bool,
    jurisdiction: str,
    agreement: CollectiveAgreement | None = None,
) -> list[Warning]:
    # A replica that replaces in-person work is unenforceable in CA and NY unless the performer
    # had a lawyer or a union whose collective agreement expressly covers digital replicas
    # (Cal. Labor Code §927; N.Y. Gen. Oblig. Law §5-302). So both `none` and a
    # union agreement that does not cover replicas raise the flag there. (flag; CA, NY)
    if not replaces_in_person_work or jurisdiction not in REPRESENTATION_STATUTE_JURISDICTIONS:
        return []
    kind = representation.get("kind")
    if kind == "none":
        message = (
            "a replica that replaces in-person work, agreed without a lawyer or union, may "
            f"be unenforceable in {jurisdiction}"
        )
    elif kind == "union" and not union_covers_replicas(representation, agreement):
        message = (
            "a replica that replaces in-person work, agreed under a collective agreement that "
            f"does not cover digital replicas, may be unenforceable in {jurisdiction}"
        )
    else:
        return []
    return [Warning("enforceability_risk", "CA, NY", message)]


def flag_short_notice(
    *, replica_type: str, notice_served_at: datetime, valid_from: datetime
) -> list[Warning]:
    # employment_based replica with the notice served less than 48 hours before valid_from.
    # (flag; SAG, G Art. 7(2))
    if replica_type == "employment_based" and valid_from - notice_served_at < SHORT_NOTICE:
        return [
            Warning(
                "short_notice",
                "SAG",
                "the notice for an employment-based replica was served less than 48 hours "
                "before the term starts",
            )
        ]
    return []


# -- The longest term (valid_from, valid_until) ------------------------------------------------


def check_term(
    *,
    valid_from: datetime,
    valid_until: datetime,
    holder: HolderFacts,
    representation: dict[str, Any],
    now: datetime,
    agreement: CollectiveAgreement | None = None,
) -> tuple[datetime, list[Warning]]:
    """The enforce rules on the term; returns the effective end and the cap warnings.

    `now` is the moment of signing: the acceptance time when a holder accepts, and the time of
    the request when a studio asks (the earliest the holder could sign; checked again at
    acceptance). The caps count from it, never from `valid_from`, so a far-future start cannot
    stretch them. (NF; CONSENT_RULES.md "Added after probing")
    """
    warnings: list[Warning] = []
    if valid_until <= valid_from:
        raise TermsRefused(
            "invalid_term",
            "valid_until must be after valid_from",
            source="product",
            field="terms.valid_until",
        )
    if valid_until <= now:
        raise TermsRefused(
            "term_already_ended",
            "valid_until is in the past",
            source="product",
            field="terms.valid_until",
        )
    effective_until = valid_until
    if holder.status == "living_adult":
        # Living adult: 10 years from signing, unless a registered union agreement that covers
        # replicas governs the grant. (enforce; NF)
        covered = union_covers_replicas(representation, agreement)
        if not covered and valid_until > add_years(now, ADULT_MAX_TERM_YEARS):
            raise TermsRefused(
                "term_too_long",
                f"a term may last at most {ADULT_MAX_TERM_YEARS} years from the day it is "
                "signed, whatever valid_from says, unless a registered union agreement that "
                "covers replicas governs it",
                source="NF",
                field="terms.valid_until",
            )
    elif holder.status == "minor":
        # Minor: the earlier of 5 years from signing and the 18th birthday; a grant to a minor
        # expires on the 18th birthday by itself. (enforce; NF) A term that would only start
        # on or after the birthday is refused: the guardian cannot consent for the adult the
        # holder will then be. Past the birthday we cap, not refuse: the guardian's consent
        # simply ends when the holder can decide for themself.
        assert holder.eighteenth_birthday is not None
        majority = start_of_day(holder.eighteenth_birthday)
        if valid_from >= majority:
            raise TermsRefused(
                "term_starts_after_majority",
                "the term would start on or after the holder's 18th birthday "
                f"({holder.eighteenth_birthday.isoformat()}): from then on the holder "
                "consents for themself",
                source="NF",
                field="terms.valid_from",
            )
        if valid_until > add_years(now, MINOR_MAX_TERM_YEARS):
            raise TermsRefused(
                "term_too_long",
                f"a term for a minor may last at most {MINOR_MAX_TERM_YEARS} years from the "
                "day it is signed",
                source="NF",
                field="terms.valid_until",
            )
        if valid_until > majority:
            effective_until = majority
            warnings.append(
                Warning(
                    "capped_at_majority",
                    "NF",
                    f"the grant ends on the holder's 18th birthday "
                    f"({holder.eighteenth_birthday.isoformat()}), before valid_until",
                )
            )
    elif holder.status == "deceased":
        # Deceased: never past post_mortem_rights_until. (enforce; NF, CA, NY, TN) A
        # jurisdiction without an entry in POST_MORTEM_RIGHTS allows no post-mortem grant.
        # (IDENTITY "Death")
        if post_mortem_rule(holder.jurisdiction) is None:
            raise TermsRefused(
                "no_post_mortem_rights",
                f"the registry knows no post-mortem right of publicity in force in "
                f"{holder.jurisdiction}: no grant can be made for a deceased holder there",
                source="IDENTITY, NF, CA, NY, TN",
            )
        if holder.post_mortem_rights_until is None:
            raise TermsRefused(
                "post_mortem_rights_unknown",
                "no post-mortem rights end date is recorded for this holder: the estate's "
                "executor must record it first",
                source="NF, CA, NY, TN",
            )
        end = start_of_day(holder.post_mortem_rights_until)
        if valid_until > end:
            raise TermsRefused(
                "term_past_post_mortem_rights",
                "valid_until lies past the end of the holder's post-mortem rights "
                f"({holder.post_mortem_rights_until.isoformat()})",
                source="NF, CA, NY, TN",
                field="terms.valid_until",
            )
    return effective_until, warnings


# -- The end of post-mortem rights (IDENTITY.md "Death") ---------------------------------------


@dataclass(frozen=True, slots=True)
class PostMortemRule:
    """How long a jurisdiction protects a likeness after death, and on what authority.

    `years` is the period the registry can compute from the date of death alone. Where the law
    lets the right run on while the likeness is used, that part depends on facts the registry
    cannot see (use in commerce), so it is described in `not_computed` and not granted: an
    estate that wants longer must come back with the extension recorded. A bill is listed with
    `in_force=False`: it documents what is coming, and grants nothing until it is law.
    """

    jurisdiction: str
    years: int
    source: str
    in_force: bool = True
    not_computed: str | None = None


POST_MORTEM_RIGHTS: dict[str, PostMortemRule] = {
    rule.jurisdiction: rule
    for rule in (
        PostMortemRule("US-CA", 70, "Cal. Civ. Code §3344.1"),
        PostMortemRule("US-NY", 40, "N.Y. Civ. Rights Law §50-f"),
        PostMortemRule("US-IL", 50, "765 ILCS 1075/30"),
        PostMortemRule("US-TX", 50, "Tex. Prop. Code §26.012"),
        PostMortemRule("US-FL", 40, "Fla. Stat. §540.08"),
        PostMortemRule("US-IN", 100, "Ind. Code §32-36-1-8"),
        PostMortemRule(
            "US-TN",
            10,
            "Tenn. Code §47-25-1104 (ELVIS Act 2024)",
            not_computed="after the first 10 years the right continues while the likeness is "
            "used commercially and ends after 2 years of non-use; the registry cannot see use",
        ),
        PostMortemRule(
            "DK",
            50,
            "Danish likeness bill (amendment to the Copyright Act, 2025)",
            in_force=False,
            not_computed="a bill: no grant until it is enacted",
        ),
        PostMortemRule(
            "US",
            10,
            "NO FAKES Act (2024 and 2025 bill texts), federal",
            in_force=False,
            not_computed="a bill: 10 years, renewable in 5-year steps up to 70 years while the "
            "likeness is used; no grant until it is enacted",
        ),
    )
}


def post_mortem_rule(jurisdiction: str) -> PostMortemRule | None:
    """The jurisdiction's rule if one is in force; None means no post-mortem grant."""
    rule = POST_MORTEM_RIGHTS.get(jurisdiction)
    return rule if rule is not None and rule.in_force else None


def _add_years_to_date(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # died on 29 February: the period ends on 1 March
        return date(day.year + years, 3, 1)


def post_mortem_rights_until(
    jurisdiction: str, date_of_death: date, executor_end: date | None = None
) -> date | None:
    """The last day of a deceased holder's post-mortem rights, or None when there are none.

    `date_of_death` plus the jurisdiction's period from `POST_MORTEM_RIGHTS`; an executor's
    date may shorten it, never lengthen it; a jurisdiction not in the table (or only a bill)
    allows no post-mortem grant. (enforce; IDENTITY "Death", NF, CA, NY, TN)
    """
    rule = post_mortem_rule(jurisdiction)
    if rule is None:
        return None
    end = _add_years_to_date(date_of_death, rule.years)
    if executor_end is not None and executor_end < end:
        return executor_end
    return end


# -- All terms at once -------------------------------------------------------------------------


def assess_terms(
    terms: dict[str, Any],
    *,
    holder: HolderFacts,
    notice_served_at: datetime,
    now: datetime,
    agreement: CollectiveAgreement | None = None,
) -> Assessment:
    """Every rule on the terms (normalised JSON form), in the document's order.

    `agreement` is the registry's record of the collective agreement the terms name, if any
    (looked up by the caller; this module reads no database). Raises `TermsRefused` at the
    first *enforce* rule that fails; returns the effective term and the *flag* warnings
    otherwise.
    """
    check_attributes(terms["attributes"])
    check_purposes(terms["purposes"])
    check_description(terms["intended_use_description"])
    check_project(terms["project"])
    check_territories(terms["territories"])
    check_media(terms["media"])
    warnings = check_prohibited_uses(terms["prohibited_uses"])
    check_compensation(terms.get("compensation"))
    check_replica_type(terms["replica_type"])
    check_representation(terms["representation"])
    check_collective_agreement(terms["representation"], agreement, signing_day=now.date())
    warnings += flag_enforceability_risk(
        representation=terms["representation"],
        replaces_in_person_work=terms["replaces_in_person_work"],
        jurisdiction=holder.jurisdiction,
        agreement=agreement,
    )
    valid_from = datetime.fromisoformat(terms["valid_from"])
    valid_until = datetime.fromisoformat(terms["valid_until"])
    effective_until, cap_warnings = check_term(
        valid_from=valid_from,
        valid_until=valid_until,
        holder=holder,
        representation=terms["representation"],
        now=now,
        agreement=agreement,
    )
    warnings += cap_warnings
    warnings += flag_short_notice(
        replica_type=terms["replica_type"],
        notice_served_at=notice_served_at,
        valid_from=valid_from,
    )
    return Assessment(valid_from=valid_from, valid_until=effective_until, warnings=warnings)


# -- Separate choices (granular consent) ------------------------------------------------------

# The dimensions a request may split into separate choices: the holder accepts the items the
# studio needs and picks among the optional ones. (G Art. 7(2), Art. 9(2)(a): consent to each
# purpose is specific; product)
CHOOSABLE = ("attributes", "media", "purposes")
# Never bundled: whenever asked for, always a separate choice with its own explanation, even
# when the studio did not mark it optional. (G Art. 9, SAG)
ALWAYS_SEPARATE = {"purposes": ("ai_training",)}


def separate_choices(
    requested: dict[str, list[str]], optional: dict[str, list[str]] | None
) -> dict[str, list[str]]:
    """The optional items of a request, per dimension (sorted, only non-empty dimensions).

    Each optional item must be one the request asks for (enforce; product); the items of
    `ALWAYS_SEPARATE` are added whenever they are asked for (enforce; G Art. 9, SAG).
    """
    chosen: dict[str, list[str]] = {}
    for dimension in CHOOSABLE:
        asked = set(requested.get(dimension) or [])
        marked = {item.strip() for item in (optional or {}).get(dimension) or [] if item.strip()}
        strangers = sorted(marked - asked)
        if strangers:
            raise TermsRefused(
                "optional_not_requested",
                f"terms.optional.{dimension} names items the terms do not ask for: "
                f"{', '.join(strangers)}",
                source="product",
                field=f"terms.optional.{dimension}",
            )
        marked |= asked & set(ALWAYS_SEPARATE.get(dimension, ()))
        if marked:
            chosen[dimension] = sorted(marked)
    return chosen


def offered_choices(terms: dict[str, Any]) -> dict[str, list[str]]:
    """The separate choices a stored request offers (none for terms from before choices)."""
    return {dim: list(items) for dim, items in (terms.get("optional") or {}).items() if items}


def chosen_scope(terms: dict[str, Any], accepted: dict[str, list[str]]) -> dict[str, Any]:
    """The grant's terms: every required item and the optional items the holder accepted.

    `accepted` holds only offered items (the caller refuses others first). A dimension left
    empty is refused: there is nothing to consent to, decline instead. (enforce; NF, TN)
    """
    offered = offered_choices(terms)
    scope = {key: value for key, value in terms.items() if key != "optional"}
    for dimension in CHOOSABLE:
        optional = set(offered.get(dimension, ()))
        kept = set(accepted.get(dimension, ()))
        scope[dimension] = sorted(
            item for item in terms[dimension] if item not in optional or item in kept
        )
        if not scope[dimension]:
            raise TermsRefused(
                "choice_leaves_scope_empty",
                f"with these choices the consent covers no {dimension}: accept at least one "
                "of them, or decline the request",
                source="NF, TN",
                field=f"choices.{dimension}",
            )
    return scope


# -- Who may consent ---------------------------------------------------------------------------


def check_named_guardian(
    named_representative_id: str | None, signer_representative_id: str | None
) -> None:
    # A guardian named in the acceptance must be the one signing it. (enforce; NF, TN, G Art. 8)
    if named_representative_id is not None and named_representative_id != signer_representative_id:
        raise TermsRefused(
            "guardian_required",
            "the guardian named in the body must be the one signing",
            source="NF, TN, G Art. 8",
            field="guardian",
        )


def check_signer(
    *,
    holder_status: str,
    signer_role: str,
    has_estate_authority: bool,
) -> None:
    """Who may sign for this holder (CONSENT_RULES.md "Who may consent").

    The role only: that the signer's authority and a minor's court approval were reviewed
    by a verifier is checked by the consent service (verification cases), after this.
    """
    if holder_status == "minor":
        # Minor: a guardian's signature AND a court approval, which the consent service
        # checks is an approved `court_approval` case naming the request. (enforce; NF, TN,
        # G Art. 8)
        if signer_role != "guardian":
            raise TermsRefused(
                "guardian_required",
                "the holder is a minor: a guardian must sign",
                source="NF, TN, G Art. 8",
            )
    elif holder_status == "deceased":
        # Deceased: the estate representative with recorded authority. (enforce; NF, CA, NY, SAG)
        if signer_role != "executor" or not has_estate_authority:
            raise TermsRefused(
                "estate_authority_required",
                "the holder is deceased: the estate's executor, with recorded authority, signs",
                source="NF, CA, NY, SAG",
            )
    else:
        # Living adult: the holder, or an authorised representative with recorded authority.
        # (NF, TN) A guardian or an executor has no authority over a living adult.
        if signer_role not in ("self", "representative"):
            raise TermsRefused(
                "signer_not_authorised",
                "a living adult signs for themself or through an authorised representative",
                source="NF, TN",
            )
