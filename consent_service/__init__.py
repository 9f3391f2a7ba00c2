"""consent_service: consent and licence registry for the use of people's likeness."""

__version__ = "0.1.0"
