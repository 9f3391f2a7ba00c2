"""Verification: who signed, and by what right, checked by registry staff (IDENTITY.md).

Cases of evidence (identity document, live capture, authority of a representative, court
approval of a minor's grant, death) are opened by holders or their representatives and decided
by a `verifier`; the holder's assurance level is computed from the decided cases.
"""
