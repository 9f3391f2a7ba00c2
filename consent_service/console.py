"""The `consent-service` command, as installed: `verify` from the base install, the rest with
the server.

`pip install consent-service` brings only what offline verification needs (`cryptography`,
python-jose and the standard library), so `consent-service verify` (licences/cli.py) must run
without the server's packages. Every other command (serve, db, accounts, keys, consents,
audit, vault, ...) lives in `consent_service.cli` (typer) and needs
`pip install 'consent-service[server]'`; without it they answer with that advice (exit 2).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

SERVER_INSTALL = "pip install 'consent-service[server]'"

BASE_HELP = f"""usage: consent-service COMMAND [ARGS]...

Consent and licence registry for the use of people's likeness in synthetic media.

Commands of this install:
  verify    Verify a licence offline (consent-service verify --help)

The server's commands (serve, db, accounts, keys, consents, audit, vault) need the server's
dependencies: {SERVER_INSTALL}
"""


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `consent-service` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["verify"]:
        from consent_service.licences import cli as licence_cli

        sys.exit(licence_cli.main(args[1:]))
    try:
        from consent_service import cli
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if not missing or missing == "consent_service":
            raise
        if args in ([], ["--help"], ["-h"]):
            sys.stdout.write(BASE_HELP)
            sys.exit(0)
        command = args[0] if args else ""
        sys.stderr.write(
            f"consent-service {command}: this command needs the server ({missing!r} is not "
            f"installed): {SERVER_INSTALL}\n"
        )
        sys.exit(2)
    cli.app(args=args, prog_name="consent-service")


if __name__ == "__main__":
    main()
