"""Flows that span domains: each calls the domains' services and never their tables.

- `death`: recording a holder's death with evidence (IDENTITY.md "Death").
- `estate`: an executor registers a deceased person's estate.
"""
