"""`python -m tests.compose [--gpu]`: build, bring up, check, tear down; a table of what was seen."""
import argparse
import signal
import sys

from tests.compose import checks_faults, checks_ops, checks_service, engine, standins, wheels
from tests.compose.engine import REPO, sh
from tests.compose.report import Results
from tests.compose.stack import TAG, Stack

CHECKS = [(1, "start-up", checks_service.startup), (12, "security", checks_service.security),
          (2, "nine variants", checks_service.variants), (3, "300 jobs, 8 clients", checks_service.load),
          (4, "scale 3-5-1", checks_service.scale), (5, "worker killed", checks_faults.worker_killed),
          (6, "redis restarted", checks_faults.redis_restarted), (7, "postgres down", checks_faults.postgres_restarted),
          (8, "network partition", checks_faults.partition), (10, "upgrade", None),
          (9, "down, up", checks_service.down_up), (11, "backup drill", checks_ops.backup)]


def builder(gpu, index):
    """build(label=None): both fitq images from the repository's Dockerfiles, tagged as compose names them."""
    def build(label=None):
        extra = ["--label", f"fitq.compose-test={label}"] if label else []
        sh("docker", "build", "-q", "--network", "host", *extra, "-f", "Dockerfile.api", "-t", f"fitq-api:{TAG}",
           REPO, timeout=1200)
        torch = [] if gpu else ["--build-arg", f"TORCH_INDEX={index}"]  # GPU: the Dockerfile's CUDA index
        sh("docker", "build", "-q", "--network", "host", *extra, *torch, "-f", "Dockerfile.worker",
           "-t", f"{'fitq-worker' if gpu else 'fitq-worker-cpu'}:{TAG}", REPO, timeout=1800)
    return build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gpu", action="store_true", help="GPU workers (service worker, CUDA torch)")
    parser.add_argument("--only", help="comma-separated check numbers (1 always runs)")
    parser.add_argument("--long-steps", type=int, help="steps of the long job of checks 5 and 8")
    args = parser.parse_args(argv)
    # SIGTERM (CI's timeout) unwinds like Ctrl-C, through the teardown below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results, server = Results(), None
    stack = Stack("fitqgpu" if args.gpu else "fitqtest", *(("worker", ()) if args.gpu else ("cpu-worker", ("cpu",))))
    if args.long_steps:
        stack.long_steps = args.long_steps
    only = {1, *map(int, args.only.split(","))} if args.only else None
    try:
        with results.step(0, "engine, base images"):
            engine.ensure_engine()
            how = standins.ensure()
        results.note(0, ", ".join(f"{k} {v}" for k, v in how.items()))
        with results.step(0, "fitq images built"):
            index = None
            if not args.gpu:
                server, index = wheels.serve()
            build = builder(args.gpu, index)
            build()
        checks_ops_upgrade = lambda s: checks_ops.upgrade(s, build)  # noqa: E731 (needs the builder)
        for number, name, check in CHECKS:
            if only and number not in only:
                continue
            if not results.run(number, name, check or checks_ops_upgrade, stack) and number == 1:
                break  # nothing else can run on a stack that did not start
    finally:
        with results.step(0, "teardown"):
            if results.failed:
                print(stack.compose("ps", check=False, quiet=True), flush=True)
            stack.down(volumes=True)
            if server:
                server.kill()
        results.print()
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
