"""Human words for the registry's codes: ONE vocabulary for the notice, the portal and the docs.

The consent rules speak in codes (`film_tv`, `theatrical`, `short_notice`); people read
"film and television", "cinemas" and a sentence that says what to do. Every place that shows a
code to a person takes its words from here: the notice template (from 2026-11-v3), the portal
pages and receipts, and the tables in `docs/holders.md` (a test checks they agree).

Pure data and a few lookups (country names from `pycountry`): no imports from the rest of the
package, so any layer may use it.
Notice templates released before v3 keep their own frozen labels: a released notice must
re-render to the same bytes, whatever happens to the words here.
"""

from __future__ import annotations

from typing import Final

import pycountry

# The parts of a person's likeness (CONSENT_RULES.md `attributes`).
ATTRIBUTES: Final[dict[str, str]] = {
    "face": "face",
    "voice": "voice",
    "body": "body",
}

# What the replica may be used for (`purposes`).
PURPOSES: Final[dict[str, str]] = {
    "film_tv": "film and television",
    "advertising": "advertising",
    "video_game": "video games",
    "dubbing_localisation": "dubbing and localisation",
    "ai_training": "training AI models",
    "news_documentary": "news and documentary",
    "parody_satire": "parody and satire",
    "music_video": "music videos",
    "live_performance": "live performance",
}

# Where it may be shown (`media`).
MEDIA: Final[dict[str, str]] = {
    "theatrical": "cinemas",
    "streaming": "streaming services",
    "broadcast": "broadcast television and radio",
    "online": "websites",
    "social_media": "social media",
    "print": "print",
    "in_game": "inside games",
    "outdoor": "outdoor advertising",
    "live_event": "live events",
}

# Uses that are never allowed unless the holder removes them (`prohibited_uses`).
PROHIBITED_USES: Final[dict[str, str]] = {
    "sexual_content": "sexual content",
    "political_endorsement": "political endorsement",
    "defamatory_content": "defamatory content",
}

REPLICA_TYPES: Final[dict[str, str]] = {
    "employment_based": "employment-based (made in connection with your employment)",
    "independently_created": "independently created",
}

REPRESENTATION: Final[dict[str, str]] = {
    "lawyer": "a lawyer, who initialled these terms",
    "union": "your union, under a collective agreement",
    "none": "none (you are not represented by a lawyer or a union)",
}

# A grant's state (DPV consent states), as a person reads it.
STATUSES: Final[dict[str, str]] = {
    "active": "active",
    "withdrawn": "withdrawn",
    "revoked": "revoked",
    "suspended": "suspended",
    "expired": "expired",
    "ended_by_death": "ended by death",
    "pending": "waiting for your answer",
    "accepted": "accepted",
    "declined": "declined",
}

# Who signed (`signature.role`) and how (`signature.method`).
SIGNER_ROLES: Final[dict[str, str]] = {
    "self": "the holder, in person",
    "representative": "an authorised representative",
    "guardian": "a guardian",
    "executor": "the estate's executor",
    "agent": "an agent",
}
SIGNATURE_METHODS: Final[dict[str, str]] = {
    "typed_name": "typed name",
    "click_through": "click-through",
    "drawn": "drawn signature",
    "qualified_electronic_signature": "qualified electronic signature",
}

# The dimensions a request may offer as separate choices, and what each item is called there.
DIMENSIONS: Final[dict[str, str]] = {
    "purposes": "use",
    "media": "place it may be shown",
    "attributes": "part of your likeness",
}

# Plain-language explanations shown with a separate choice. `ai_training` always has one: it is
# never bundled with another purpose (CONSENT_RULES.md, G Art. 9, SAG).
EXPLANATIONS: Final[dict[str, str]] = {
    "ai_training": (
        "The studio may use recordings of you to teach computer systems (AI models) to "
        "produce your likeness or to learn from it. A model that learned from you can keep "
        "what it learned after this project ends, so say yes only if you are comfortable with "
        "that. Saying no does not change the rest of this consent."
    ),
}

# The warnings the rules raise (*flag*): what each means for the holder and what to do.
WARNINGS: Final[dict[str, str]] = {
    "enforceability_risk": (
        "This replica would replace work you would otherwise do in person, and no lawyer or "
        "union represents you: under California and New York law such terms may not be "
        "enforceable. Ask a lawyer or your union to read them before you decide."
    ),
    "short_notice": (
        "You were given less than 48 hours before this employment-based replica may first be "
        "used. Take the time you need: you may ask the studio to start later, or decline."
    ),
    "capped_at_majority": (
        "The person this consent is for turns 18 before the end date the studio asked for, so "
        "it ends on their 18th birthday. Nothing to do now; from then on they decide themselves."
    ),
    "default_prohibited_use_removed": (
        "These terms allow a use the registry forbids by default (sexual content, political "
        "endorsement or defamatory content). Read the 'Never for' line carefully; decline if "
        "you did not agree to this with the studio."
    ),
}
WARNING_FALLBACK: Final = (
    "The registry flagged these terms. Read them carefully and ask the studio before you decide."
)

ALL_LABELS: Final[dict[str, str]] = {
    **ATTRIBUTES,
    **PURPOSES,
    **MEDIA,
    **PROHIBITED_USES,
    **REPLICA_TYPES,
    "WORLDWIDE": "worldwide",
}


def label(code: str) -> str:
    """The words for a vocabulary code; a territory's ISO 3166-1 code gives the country's
    name from the ISO data in `pycountry` (`GB` -> United Kingdom)."""
    if code in ALL_LABELS:
        return ALL_LABELS[code]
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    return str(country.name) if country is not None else code


def labels(codes: list[str] | tuple[str, ...], *, none: str = "none") -> str:
    """A list of codes in words: `face, voice`."""
    return ", ".join(label(code) for code in codes) or none


def warning_advice(code: str) -> str:
    return WARNINGS.get(code, WARNING_FALLBACK)


# -- Other languages (notice template v3 in es and fr) ----------------------------------------
# The same codes in Spanish and French; a code missing here reads in English.

LANGUAGE_NAMES: Final[dict[str, str]] = {"en": "English", "es": "Español", "fr": "Français"}

_ES: Final[dict[str, str]] = {
    "face": "rostro",
    "voice": "voz",
    "body": "cuerpo",
    "film_tv": "cine y televisión",
    "advertising": "publicidad",
    "video_game": "videojuegos",
    "dubbing_localisation": "doblaje y localización",
    "ai_training": "entrenamiento de modelos de IA",
    "news_documentary": "noticias y documentales",
    "parody_satire": "parodia y sátira",
    "music_video": "videoclips",
    "live_performance": "actuaciones en directo",
    "theatrical": "salas de cine",
    "streaming": "servicios de streaming",
    "broadcast": "televisión y radio",
    "online": "sitios web",
    "social_media": "redes sociales",
    "print": "prensa e impresos",
    "in_game": "dentro de juegos",
    "outdoor": "publicidad exterior",
    "live_event": "eventos en directo",
    "sexual_content": "contenido sexual",
    "political_endorsement": "apoyo político",
    "defamatory_content": "contenido difamatorio",
    "employment_based": "vinculada a su empleo (creada en relación con su trabajo)",
    "independently_created": "creada de forma independiente",
    "WORLDWIDE": "todo el mundo",
    "dimension.purposes": "uso",
    "dimension.media": "lugar donde puede mostrarse",
    "dimension.attributes": "parte de su imagen",
    "explain.ai_training": (
        "El estudio puede usar grabaciones suyas para enseñar a sistemas informáticos (modelos "
        "de IA) a reproducir su imagen o a aprender de ella. Un modelo que aprendió de usted "
        "puede conservar lo aprendido cuando termine este proyecto: diga que sí solo si está "
        "conforme con ello. Decir que no no cambia el resto de este consentimiento."
    ),
}

_FR: Final[dict[str, str]] = {
    "face": "visage",
    "voice": "voix",
    "body": "corps",
    "film_tv": "cinéma et télévision",
    "advertising": "publicité",
    "video_game": "jeux vidéo",
    "dubbing_localisation": "doublage et localisation",
    "ai_training": "entraînement de modèles d'IA",
    "news_documentary": "information et documentaire",
    "parody_satire": "parodie et satire",
    "music_video": "clips musicaux",
    "live_performance": "spectacle vivant",
    "theatrical": "salles de cinéma",
    "streaming": "services de streaming",
    "broadcast": "télévision et radio",
    "online": "sites web",
    "social_media": "réseaux sociaux",
    "print": "presse et imprimés",
    "in_game": "dans les jeux",
    "outdoor": "affichage extérieur",
    "live_event": "événements en direct",
    "sexual_content": "contenu sexuel",
    "political_endorsement": "soutien politique",
    "defamatory_content": "contenu diffamatoire",
    "employment_based": "liée à votre emploi (créée dans le cadre de votre travail)",
    "independently_created": "créée de façon indépendante",
    "WORLDWIDE": "le monde entier",
    "dimension.purposes": "usage",
    "dimension.media": "lieu où elle peut être montrée",
    "dimension.attributes": "partie de votre image",
    "explain.ai_training": (
        "Le studio peut utiliser des enregistrements de vous pour apprendre à des systèmes "
        "informatiques (modèles d'IA) à reproduire votre image ou à en tirer des "
        "connaissances. Un modèle qui a appris de vous peut garder ce qu'il a appris après la "
        "fin de ce projet : ne dites oui que si cela vous convient. Dire non ne change rien au "
        "reste de ce consentement."
    ),
}

TRANSLATIONS: Final[dict[str, dict[str, str]]] = {"es": _ES, "fr": _FR}


def label_in(code: str, language: str) -> str:
    """`label(code)` in `language` (en, es, fr); country names from pycountry's ISO 3166
    translations."""
    if language == "en":
        return label(code)
    table = TRANSLATIONS.get(language, {})
    if code in table:
        return table[code]
    if len(code) == 2 and code not in ALL_LABELS:
        return _country_in(code, language)
    return label(code)


def _country_in(code: str, language: str) -> str:
    import gettext

    name = label(code)
    try:
        translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return name
    return translation.gettext(name)
