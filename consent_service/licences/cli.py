"""`consent-service verify TOKEN`: the offline verifier for shell pipelines and render nodes.

Standard library only (argparse) besides the verifier itself, so that it runs from the base
install, `pip install consent-service`, without the server's dependencies.

Prints the verdict as one JSON object on stdout. Exit status:

- 0: the licence is valid (and covers the proposed use, or `--any-use` was given);
- 1: it is not (the verdict's `code` says why);
- 2: it cannot be checked (no key set or status list, a stale or unverifiable status list,
  bad arguments): that is never a verdict about the licence;
- 3: no `--use` was given: a render step must say what it is about to do, or pass
  `--any-use` to accept a licence whatever its scope.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from consent_service.licences.verifier import ASSURANCE_LEVELS, CannotCheck, ProposedUse, Verifier

EXIT_VALID, EXIT_NOT_VALID, EXIT_CANNOT_CHECK, EXIT_USE_REQUIRED = 0, 1, 2, 3

USE_REQUIRED = (
    "refusing to answer without a use: give --use attribute=...,purpose=...,territory=...,"
    "medium=... (what you are about to do), or --any-use to accept the licence whatever its scope"
)


class _Parser(argparse.ArgumentParser):
    """argparse, with bad arguments answered as `cannot_check` JSON (exit 2) like other
    problems, so that a pipeline reading stdout always gets one JSON object."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _print({"valid": False, "code": None, "error": "cannot_check", "detail": message})
        raise SystemExit(EXIT_CANNOT_CHECK)


def parser(prog: str = "consent-service verify") -> argparse.ArgumentParser:
    """The command line of `consent-service verify`."""
    parser = _Parser(
        prog=prog,
        description="Verify a licence offline; prints the verdict as JSON. Exit status: "
        "0 valid, 1 not valid, 2 cannot check (or bad arguments), 3 no --use given.",
    )
    parser.add_argument("token", help="The licence (compact JWS), or - to read it from stdin")
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--use",
        help="The proposed use: attribute=face,purpose=film_tv,territory=GB,medium=streaming "
        "(also project=, category= (repeatable), at=RFC 3339 time)",
    )
    what.add_argument(
        "--any-use",
        action="store_true",
        help="Accept the licence whatever its scope (without it, a check with no --use exits 3)",
    )
    parser.add_argument(
        "--audience",
        metavar="ORG_ID",
        help="Your organisation's id (org_...): a licence issued to another organisation "
        "answers AUDIENCE_MISMATCH (exit 1)",
    )
    parser.add_argument(
        "--min-assurance",
        choices=ASSURANCE_LEVELS,
        help="Least holder identity assurance the licence must carry (INSUFFICIENT_ASSURANCE, "
        "exit 1, when lower or not stated)",
    )
    source = parser.add_argument_group(
        "sources", "either --issuer URL, or --jwks FILE and one or more --status-list FILE"
    )
    source.add_argument("--issuer", help="Issuer URL: fetch its JWKS and status lists")
    source.add_argument("--jwks", type=Path, help="JWKS file (no network)")
    source.add_argument(
        "--status-list",
        type=Path,
        action="append",
        default=[],
        help="Status-list token file (no network; repeatable)",
    )
    return parser


def _print(document: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def _cannot_check(detail: str) -> int:
    _print({"valid": False, "code": None, "error": "cannot_check", "detail": detail})
    return EXIT_CANNOT_CHECK


def main(argv: Sequence[str] | None = None, *, prog: str = "consent-service verify") -> int:
    """Run `consent-service verify` with `argv` (default: sys.argv[1:]); returns the exit code."""
    command = parser(prog)
    args = command.parse_args(argv)
    if args.audience is not None and not args.audience.strip():
        command.error("--audience: an organisation id (org_...), not blank")
    if args.use is None and not args.any_use:
        print(f"{prog}: {USE_REQUIRED}", file=sys.stderr)
        _print({"valid": False, "code": None, "error": "use_required", "detail": USE_REQUIRED})
        return EXIT_USE_REQUIRED
    token = sys.stdin.read() if args.token == "-" else args.token
    token = token.strip()
    try:
        proposed = ProposedUse.parse(args.use) if args.use else None
    except ValueError as exc:
        return _cannot_check(f"--use: {exc}")
    try:
        if args.issuer is not None and args.jwks is None and not args.status_list:
            verifier = Verifier.for_issuer(args.issuer)
        elif args.issuer is None and args.jwks is not None and args.status_list:
            verifier = Verifier.from_files(args.jwks, *args.status_list)
        else:
            return _cannot_check("give either --issuer URL, or --jwks FILE and --status-list FILE")
        verdict = verifier.verify(
            token, proposed, audience=args.audience, min_assurance=args.min_assurance
        )
    except CannotCheck as exc:
        return _cannot_check(str(exc))
    _print(verdict.to_dict())
    return EXIT_VALID if verdict.valid else EXIT_NOT_VALID


if __name__ == "__main__":
    sys.exit(main())
