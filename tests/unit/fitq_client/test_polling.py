"""The polling loop's reports: a notebook hears of changes, the CLI's bar of every reading."""
from fitq_client.polling import changes, until


def _readings(*values):
    sequence = iter(values)
    return lambda: next(sequence)


def test_a_report_of_changes_skips_readings_that_repeat_the_last_one():
    heard = []
    until(_readings(1, 1, 2, 2, 3), lambda n: n == 3, changes(heard.append, lambda n: n * 10), longest_s=0)
    assert heard == [10, 20, 30]


def test_a_report_of_every_reading_hears_each_one():
    heard = []
    until(_readings(1, 1, 2), lambda n: n == 2, changes(heard.append, lambda n: n, only=False), longest_s=0)
    assert heard == [1, 1, 2]
