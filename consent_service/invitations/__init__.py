"""Invitations: a studio invites a person by email to register and to hear its request.

The invited address is personal data: it is stored sealed (AES-GCM under the service's
`invitation-seal` key, bound to the invitation's id) only while the invitation is pending, and
erased when it ends (accepted, declined, withdrawn or expired). The studio never learns whether
the address belongs to a holder; it learns the holder id only when the person accepts.
"""
