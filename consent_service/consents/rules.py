"""CONSENT_RULES.md in code: the vocabularies and the rules a consent must satisfy.

Read this module next to `shared/design/CONSENT_RULES.md`: each rule is one short function or
block, in the document's order, with its source tag in a comment. Rules marked *enforce* raise
`TermsRefused` (HTTP 422) with a code that names the rule; rules marked *flag* return a
`Warning`, which the request and the grant carry in `warnings` without refusing.

Sources: NF = NO FAKES Act bill; CA = Cal. Labor Code §927 / Civil Code §3344.1; NY = N.Y. Gen.
Oblig. Law §5-302; TN = ELVIS Act; SAG = SAG-AFTRA agreements; G = GDPR.

Not legal advice: this is the product's codification of the rules, kept in one place so that a
lawyer can read it. The module is pure (no database, no clock): callers pass `now`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from consent_service.errors import RuleViolation

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
WORLDWIDE = "WORLDWIDE"
# ISO 3166-1 alpha-2, officially assigned codes.
ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()
)
TERRITORIES = ISO_3166_ALPHA2 | {WORLDWIDE}
DEFAULT_PROHIBITED_USES = ("sexual_content", "political_endorsement", "defamatory_content")
REPLICA_TYPES = frozenset({"employment_based", "independently_created"})
REPRESENTATION_KINDS = frozenset({"lawyer", "union", "none"})
GRANT_STATUSES = frozenset({"active", "withdrawn", "revoked", "suspended", "expired"})
# Signature roles (CONSENT_RULES.md "Signature").
SIGNER_ROLES = frozenset({"self", "representative", "guardian", "executor"})

MIN_DESCRIPTION_CHARS = 80
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


def check_description(description: str) -> None:
    # A reasonably specific description, at least 80 characters, with no blanket phrases.
    # (enforce; NF, CA, NY, SAG)
    text = " ".join(description.split())
    if len(text) < MIN_DESCRIPTION_CHARS:
        raise TermsRefused(
            "description_not_specific",
            f"intended_use_description must be at least {MIN_DESCRIPTION_CHARS} characters "
            "that say what will be made and where it will be shown",
            source="NF, CA, NY, SAG",
            field="terms.intended_use_description",
        )
    lowered = text.casefold()
    blanket = [p for p in BLANKET_PHRASES if p in lowered]
    if blanket:
        raise TermsRefused(
            "description_not_specific",
            f"intended_use_description relies on blanket wording ({', '.join(blanket)}); "
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
    # accepts a removal without seeing it.
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


def flag_enforceability_risk(
    *, representation: dict[str, Any], replaces_in_person_work: bool, jurisdiction: str
) -> list[Warning]:
    # `none` together with replaces_in_person_work in CA or NY: enforceability risk. (flag; CA, NY)
    if (
        representation.get("kind") == "none"
        and replaces_in_person_work
        and jurisdiction in REPRESENTATION_STATUTE_JURISDICTIONS
    ):
        return [
            Warning(
                "enforceability_risk",
                "CA, NY",
                "a replica that replaces in-person work, agreed without a lawyer or union, may "
                f"be unenforceable in {jurisdiction}",
            )
        ]
    return []


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
) -> tuple[datetime, list[Warning]]:
    """The enforce rules on the term; returns the effective end and the cap warnings."""
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
        # Living adult: 10 years, unless a union agreement that covers replicas. (enforce; NF)
        covered = representation.get("kind") == "union" and bool(
            representation.get("covers_replicas")
        )
        if not covered and valid_until > add_years(valid_from, ADULT_MAX_TERM_YEARS):
            raise TermsRefused(
                "term_too_long",
                f"a term may last at most {ADULT_MAX_TERM_YEARS} years unless a union agreement "
                "that covers replicas governs it",
                source="NF",
                field="terms.valid_until",
            )
    elif holder.status == "minor":
        # Minor: the earlier of 5 years and the 18th birthday; a grant to a minor expires on
        # the 18th birthday by itself. (enforce; NF) Past the birthday we cap, not refuse: the
        # guardian's consent simply ends when the holder can decide for themself.
        if valid_until > add_years(valid_from, MINOR_MAX_TERM_YEARS):
            raise TermsRefused(
                "term_too_long",
                f"a term for a minor may last at most {MINOR_MAX_TERM_YEARS} years",
                source="NF",
                field="terms.valid_until",
            )
        assert holder.eighteenth_birthday is not None
        majority = start_of_day(holder.eighteenth_birthday)
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
        # Deceased: never past post_mortem_rights_until. (enforce; NF, CA, NY, TN)
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


# -- All terms at once -------------------------------------------------------------------------


def assess_terms(
    terms: dict[str, Any], *, holder: HolderFacts, notice_served_at: datetime, now: datetime
) -> Assessment:
    """Every rule on the terms (normalised JSON form), in the document's order.

    Raises `TermsRefused` at the first *enforce* rule that fails; returns the effective term
    and the *flag* warnings otherwise.
    """
    check_attributes(terms["attributes"])
    check_purposes(terms["purposes"])
    check_description(terms["intended_use_description"])
    check_project(terms["project"])
    check_territories(terms["territories"])
    check_media(terms["media"])
    warnings = check_prohibited_uses(terms["prohibited_uses"])
    check_replica_type(terms["replica_type"])
    check_representation(terms["representation"])
    warnings += flag_enforceability_risk(
        representation=terms["representation"],
        replaces_in_person_work=terms["replaces_in_person_work"],
        jurisdiction=holder.jurisdiction,
    )
    valid_from = datetime.fromisoformat(terms["valid_from"])
    valid_until = datetime.fromisoformat(terms["valid_until"])
    effective_until, cap_warnings = check_term(
        valid_from=valid_from,
        valid_until=valid_until,
        holder=holder,
        representation=terms["representation"],
        now=now,
    )
    warnings += cap_warnings
    warnings += flag_short_notice(
        replica_type=terms["replica_type"],
        notice_served_at=notice_served_at,
        valid_from=valid_from,
    )
    return Assessment(valid_from=valid_from, valid_until=effective_until, warnings=warnings)


# -- Who may consent ---------------------------------------------------------------------------


def check_signer(
    *,
    holder_status: str,
    signer_role: str,
    court_approval: dict[str, Any] | None,
    has_estate_authority: bool,
) -> None:
    """Who may sign for this holder (CONSENT_RULES.md "Who may consent")."""
    if holder_status == "minor":
        # Minor: a guardian's signature AND a court-approval record. (enforce; NF, TN, G Art. 8)
        if signer_role != "guardian":
            raise TermsRefused(
                "guardian_required",
                "the holder is a minor: a guardian must sign",
                source="NF, TN, G Art. 8",
            )
        if not court_approval:
            raise TermsRefused(
                "court_approval_required",
                "consent for a minor needs a court-approval record (court, case_number, date)",
                source="NF, TN, G Art. 8",
                field="court_approval",
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
