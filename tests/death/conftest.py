"""Death fixtures: the verification and licence fixtures, reused."""

from tests.licences.conftest import grant, issue, make_grant  # noqa: F401
from tests.verification.conftest import make_verifier, verifier  # noqa: F401
