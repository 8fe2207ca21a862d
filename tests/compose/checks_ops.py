"""Operations on a live stack: an upgrade with jobs in flight, and the backup drill of docs/operations.md."""
import subprocess
import time

from tests.compose.client import Client
from tests.compose.engine import CACHE, ENV
from tests.compose.stack import Stack


def upgrade(stack, build):
    """10. Rebuild the images and `up -d` the API and workers with jobs in flight: none lost."""
    client = stack.client
    ids = [client.submit("custom_function", steps=3000 + i, seed=i)["id"] for i in range(15)]
    client.wait(ids[0], until={"running", "succeeded"}, timeout=60)
    old = {c["Name"]: c["Image"] for c in stack.inspect(*stack.containers("api"), *stack.containers(stack.worker))}
    build(label=f"upgrade-{time.time():.0f}")  # a new image id for each, as a code change makes
    stack.up()
    stack.wait_healthy(timeout=180)
    new = {c["Name"]: c["Image"] for c in stack.inspect(*stack.containers("api"), *stack.containers(stack.worker))}
    assert set(new.values()).isdisjoint(old.values()), "containers still run the old images"
    _, attempts = client.all_succeeded(ids, timeout=300)
    return f"{len(new)} containers replaced by new images; 15/15 succeeded, attempts {dict(sorted(attempts.items()))}"


def backup(stack):
    """11. pg_dump from the running stack, pg_restore into a fresh one (docs/operations.md's commands)."""
    dump = CACHE / "fitq-compose-test.dump"
    with open(dump, "wb") as out:
        subprocess.run(stack.compose_args("exec", "-T", "postgres", "pg_dump", "-U", "fitq", "-d", "fitq",
                                          "--format=custom"), stdout=out, check=True, env=ENV, timeout=120)
    want = stack.client.all_jobs()
    fresh = Stack(stack.project + "restore", stack.worker, stack.profiles, stack.overrides)
    try:
        fresh.up(0)
        fresh.wait_healthy(timeout=180)
        fresh.compose("stop", "api", "sweeper")
        with open(dump, "rb") as source:
            subprocess.run(fresh.compose_args("exec", "-T", "postgres", "pg_restore", "-U", "fitq", "-d", "fitq",
                                              "--clean", "--if-exists", "--no-owner"),
                           stdin=source, check=True, env=ENV, timeout=120)
        fresh.compose("run", "--rm", "migrate")
        fresh.up()
        fresh.wait_healthy(timeout=180)
        # The old stack's token: tokens live in the database, so the restored one lets us in.
        got = Client(f"http://127.0.0.1:{fresh.port}", stack.token).all_jobs()
    finally:
        fresh.down(volumes=True)
        dump.unlink(missing_ok=True)
    differ = sum(got.get(k) != v for k, v in want.items())
    assert got == want, f"{len(got)} jobs restored, {len(want)} dumped; {differ} differ"
    return f"restored: {len(got)}/{len(want)} jobs read back identical, old token works"
