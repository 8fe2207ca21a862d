"""How far a wait has got, on stderr: a bar redrawn in place on a terminal, else a line now and then."""
import os
import sys
import time

BAR_WIDTH, LEAST_BAR = 30, 10  # the bar narrows, down to LEAST_BAR, to keep its line on one row
DETAIL_ROOM = 12  # characters kept for the detail when the bar is laid out ("succeeded" and then some)
EVERY_S = 10.0  # seconds between plain lines while nothing but the numbers changes


class Progress:
    """Draws `done of total` for what `label` names; on a terminal as one live bar, in a log as plain
    lines."""

    def __init__(self, stream=None, tty=None, every_s=EVERY_S, clock=time.monotonic, columns=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_s, self.clock, self.columns = every_s, clock, columns
        self.started, self.drawn, self.printed_at, self.state, self.layout = clock(), False, None, None, None

    def show(self, done, total, label, detail, state=None):
        """Report `done` of `total` and a `detail` (a status, counts); a plain line is written when
        `state` changes or every `every_s`."""
        elapsed = self.clock() - self.started
        share = min(max(done / total, 0.0), 1.0) if total else 0.0
        if self.tty:
            self._write(f"\r{self._bar(share, label, total, f'{done}/{total}  {elapsed:.1f}s  {detail}')}\x1b[K")
            self.drawn = True
            return
        now = self.clock()
        if state != self.state or self.printed_at is None or now - self.printed_at >= self.every_s:
            self._write(f"{label} {detail}: {done}/{total} ({share:.0%}) after {elapsed:.1f}s\n")
            self.printed_at, self.state = now, state

    def note(self, text):
        """A line of its own that the bar does not overwrite."""
        self.close()
        self._write(text + "\n")

    def close(self):
        """End the bar's line, so that what follows starts on a fresh one."""
        if self.drawn:
            self._write("\n")
            self.drawn = False

    def _bar(self, share, label, total, tail):
        # A line longer than the terminal wraps, and \r then redraws only its last row: narrow the bar,
        # else leave out the label (said elsewhere in full), and cut what still does not fit. Laid out
        # once, for the widest numbers to come, so that the bar does not jump as they grow.
        room = (self.columns or _columns(self.stream)) - 1
        if self.layout is None:
            widest = len(f"] 100%  {total}/{total}  9999.9s  ") + DETAIL_ROOM
            for head in (f"{label}  [", "["):
                width = min(BAR_WIDTH, room - len(head) - widest)
                if width >= LEAST_BAR:
                    break
            self.layout = head, max(width, LEAST_BAR)
        head, width = self.layout
        filled = round(share * width)
        return (head + "#" * filled + "-" * (width - filled) + f"] {share:4.0%}  {tail}")[:room]

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()


def _columns(stream):
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80  # 0: a pty nobody sized
    except (OSError, ValueError, AttributeError):  # not a terminal after all, or no file number
        return 80
