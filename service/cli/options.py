"""The arguments of the API client commands (service/cli/jobs.py), and how their values are read."""
import argparse
import json
import os
import urllib.parse

from service.cli.client import DEFAULT_URL

SORTS = ("created_at", "final_loss", "duration_s", "excess_loss", "relative_excess_loss")
STRATEGIES = ("grid", "random", "tpe")  # POST /sweeps's strategy; docs/search.md
PRUNERS = ("asha", "median")
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


def dimension(text):
    """NAME=LOW:HIGH or NAME=LOW:HIGH:log (a range), or NAME=V1,V2,... (choices) for --space."""
    name, raw = pair(text)
    if raw.startswith("[") or ":" not in raw:
        return name, {"choices": axis(text)[1]}
    parts = raw.split(":")
    if len(parts) not in (2, 3) or "" in parts[:2] or parts[2:] not in ([], ["log"]):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=LOW:HIGH, NAME=LOW:HIGH:log or NAME=V1,V2,...")
    return name, {"low": value(parts[0]), "high": value(parts[1]), **({"log": True} if parts[2:] else {})}


def steps(text):
    """S1,S2,... for --rungs: step counts."""
    if not all(part.isdigit() for part in text.split(",")):
        raise argparse.ArgumentTypeError(f"{text!r} is not step counts, comma-separated, e.g. 100,300")
    return [int(part) for part in text.split(",")]


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
    """VARIANT, --param NAME=VALUE ..., --grid NAME=V1,V2,... (one per axis), or --strategy random|tpe with
    --space and the search's options; --timeout, --wait. The API checks them together (docs/search.md)."""
    _fit(parser)
    parser.add_argument("-g", "--grid", type=axis, action="append", default=[], metavar="NAME=V1,V2,...",
                        help="an axis of the grid (repeat for more): one job per combination")
    search = parser.add_argument_group("search", "a random or tpe sweep: trials asked in batches by the sweeper")
    search.add_argument("--strategy", choices=STRATEGIES, help="grid (the default), random or tpe")
    search.add_argument("--space", type=dimension, action="append", default=[],
                        metavar="NAME=LOW:HIGH[:log] | NAME=V1,V2,...",
                        help="a parameter to search (repeat for more): a range, log-scaled with :log, or choices")
    search.add_argument("--trials", type=_positive, metavar="N", help="at most this many trials")
    search.add_argument("--search-seed", type=_natural, metavar="N",
                        help="the search's own seed (default: chosen, and shown by the API)")
    search.add_argument("--parallelism", type=_positive, metavar="N",
                        help="trials asked at once, run as one batch (default: the API's BATCH_SIZE)")
    search.add_argument("--stop-at-excess", type=_excess, metavar="R",
                        help="stop once a trial's relative excess loss is at most R (0.01: within 1%%)")
    search.add_argument("--pruner", choices=PRUNERS, help="stop lagging trials at the rungs")
    search.add_argument("--rungs", type=steps, metavar="S1,S2,...",
                        help="the pruner's rungs: increasing steps, each a multiple of log_every")
    search.add_argument("--reduction-factor", type=_positive, metavar="N", help="asha's (default 3)")
    search.add_argument("--startup-trials", type=_natural, metavar="N",
                        help="median's: trials that finish before it prunes (default 5)")
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


def _natural(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer of 0 or more")
    return int(text)


def _excess(text):
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a relative excess loss: a finite number of 0 or more")
    return number


def connection_only(parser):
    """--url and --token alone, for a client command that takes nothing else (whoami)."""
    _connection(parser)
