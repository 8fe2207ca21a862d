"""The arguments of the API client commands (service/cli/jobs.py), and how their values are read."""
import argparse
import json
import os
import urllib.parse

from service.cli.client import DEFAULT_URL

SORTS = ("created_at", "final_loss", "duration_s", "excess_loss", "relative_excess_loss")
EXIT_CODES = """exit codes: 0 done; 1 with --wait, the job failed, diverged, was cancelled or pruned (for a sweep: no
job succeeded); 2 bad usage; 3 fitq refused the request or could not be reached (one line on stderr
says why); 130 Ctrl-C while waiting (the job goes on)."""


def value(text):
    """A --param or --grid value: JSON when it parses as a number, boolean or null, else the text."""
    try:
        return json.loads(text, parse_constant=lambda _: text)  # NaN, Infinity stay strings
    except ValueError:
        return text


def pair(text):
    """NAME=VALUE from the command line."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, raw


def axis(text):
    """NAME=V1,V2,... (or NAME=[JSON list]) for --grid."""
    name, raw = pair(text)
    values = value(raw) if raw.startswith("[") else [value(v) for v in raw.split(",")]
    if not isinstance(values, list):
        raise argparse.ArgumentTypeError(f"{text!r}: the values are not a JSON list")
    return name, values


def url(text):
    """--url (or FITQ_URL): an http(s) address."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL, e.g. {DEFAULT_URL}")
    return text


def address_arguments(parser):
    """--url and --token: where the API is and how to get in (also for `fitq workers`)."""
    parser.add_argument("--url", type=url, default=os.environ.get("FITQ_URL") or DEFAULT_URL,
                        help=f"the API's address (default: FITQ_URL, else {DEFAULT_URL})")
    parser.add_argument("--token", default=os.environ.get("FITQ_TOKEN"),
                        help="API token, when the API wants one (default: FITQ_TOKEN)")


def _connection(parser):
    # Every client command takes these; `http` tells service.cli.main to read no server setting for it.
    address_arguments(parser)
    parser.formatter_class, parser.epilog = argparse.RawDescriptionHelpFormatter, EXIT_CODES
    parser.set_defaults(http=True)


def _fit(parser):
    parser.add_argument("variant", metavar="VARIANT",
                        help="e.g. tensor, custom_function (GET /api/v1/variants lists them)")
    parser.add_argument("-p", "--param", type=pair, action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter, e.g. steps=500 or device=cpu (repeat for more); JSON values "
                             "(numbers, true/false) are sent as such, anything else as text")
    parser.add_argument("--timeout", type=int, metavar="SECONDS", help="the job's time budget (timeout_s)")
    parser.add_argument("-w", "--wait", action="store_true", help="wait for the end, showing progress")


def submit_arguments(parser):
    """VARIANT, --param NAME=VALUE ..., --timeout, --wait."""
    _fit(parser)
    _connection(parser)


def sweep_arguments(parser):
    """VARIANT, --param NAME=VALUE ..., --grid NAME=V1,V2,... (one per axis), --timeout, --wait."""
    _fit(parser)
    parser.add_argument("-g", "--grid", type=axis, action="append", required=True, metavar="NAME=V1,V2,...",
                        help="an axis of the grid (repeat for more): one job per combination")
    _connection(parser)


def jobs_arguments(parser):
    """Filters, sort and limit."""
    parser.add_argument("--variant")
    parser.add_argument("--status", help="one or more statuses, comma-separated, e.g. failed,diverged")
    parser.add_argument("--sweep", metavar="SWEEP_ID")
    parser.add_argument("-p", "--param", type=pair, action="append", default=[], metavar="NAME=VALUE",
                        help="jobs whose parameter NAME is VALUE (repeat for more)")
    parser.add_argument("--created-after", metavar="ISO_TIME", help="e.g. 2026-11-27T05:00:00Z")
    parser.add_argument("--created-before", metavar="ISO_TIME")
    parser.add_argument("--sort", choices=SORTS, default="created_at")
    parser.add_argument("--order", choices=("asc", "desc"),
                        help="default: desc (newest first) for created_at, asc (best first) otherwise")
    parser.add_argument("-n", "--limit", type=_positive, default=20, help="how many jobs (default 20)")
    _connection(parser)


def one_job(parser):
    """JOB_ID."""
    parser.add_argument("id", metavar="JOB_ID")
    _connection(parser)


def compare_arguments(parser):
    """JOB_ID JOB_ID ..."""
    parser.add_argument("ids", nargs="+", metavar="JOB_ID")
    _connection(parser)


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def connection_only(parser):
    """--url and --token alone, for a client command that takes nothing else (whoami)."""
    _connection(parser)
