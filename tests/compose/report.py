"""The summary table: check, result, what was seen, seconds."""
import contextlib
import time
import traceback


class Results:
    """Rows of (number, name, result, seen, seconds), printed as a Markdown table at the end."""

    def __init__(self):
        self.rows, self.failed, self.began = [], False, time.monotonic()

    @contextlib.contextmanager
    def step(self, number, name):
        """A preparation step: timed; a failure fails the run and propagates."""
        began = time.monotonic()
        try:
            yield
        except BaseException as err:
            self.rows.append([str(number or "-"), name, "FAIL", f"{type(err).__name__}: {err}"[:300],
                              time.monotonic() - began])
            self.failed = True
            raise
        self.rows.append([str(number or "-"), name, "ok", "", time.monotonic() - began])

    def note(self, number, seen):
        self.rows[-1][3] = seen

    def run(self, number, name, check, stack) -> bool:
        """Run one check; a failure is recorded with what was seen, and the run goes on."""
        print(f"=== check {number}: {name}", flush=True)
        began = time.monotonic()
        try:
            seen, result = check(stack), "PASS"
        except Exception as err:  # any failure is this check's, reported in its row
            traceback.print_exc()
            seen, result = f"{type(err).__name__}: {err}"[:400], "FAIL"
            self.failed = True
        took = time.monotonic() - began
        print(f"=== check {number}: {result} in {took:.0f} s: {seen}", flush=True)
        self.rows.append([str(number), name, result, seen, took])
        return result == "PASS"

    def print(self):
        total = time.monotonic() - self.began
        print("\n| check | | result | what was seen | s |\n|---|---|---|---|---|")
        for number, name, result, seen, took in self.rows:
            print(f"| {number} | {name} | {result} | {' '.join(seen.replace('|', '/').split())} | {took:.0f} |")
        print(f"| | total | {'FAIL' if self.failed else 'PASS'} | | {total:.0f} |", flush=True)
