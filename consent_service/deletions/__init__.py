"""Deletion acknowledgements (GDPR Art. 17(2) and 19): recipients confirm they deleted data.

When a licence under which a studio downloaded a holder's references stops (a withdrawal, a
revocation, an erasure), the studio owes an acknowledgement that it deleted what it downloaded:
`POST /v1/licences/{id}/deletion-acknowledgement`. Open ones are shown to the holder and to
auditors and reminded daily by the `deletion.acknowledgement_due` webhook.
"""
