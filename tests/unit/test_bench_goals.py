"""make bench's verdict on each CPU goal, and the ceiling it rests on (bench.floors)."""
import pytest

from bench import floors
from bench.goals import verdict


def test_a_rate_at_or_above_its_goal_is_met_whatever_the_ceiling():
    assert verdict(200.0, 200, 150.0, "2048 KB chunks") == "met"


def test_a_goal_above_the_ceiling_is_out_of_the_mechanisms_reach():
    said = verdict(120.0, 200, 160.4, "2048 KB chunks")
    assert said.startswith("missed by 40%")
    assert "out of its mechanism's reach here" in said and "160" in said and "2048 KB chunks" in said


def test_a_ceiling_read_a_little_below_the_rate_shows_a_goal_far_above_both_out_of_reach():
    # tensor on an AVX2 machine: its pass is its arithmetic, timed beside it 1% slower; 500 is 21% above.
    said = verdict(411.8, 500, 407.0, "2048 KB chunks")
    assert said.startswith("missed by 18%: out of its mechanism's reach here: it runs at its ceiling")
    assert "407" in said and "1% under the rate" in said and "21% above the rate" in said


def test_a_ceiling_read_below_the_rate_decides_nothing_about_a_goal_within_that_margin():
    # The rate was reached, so the ceiling read 12% low; 200 is within 12% above 190.
    said = verdict(190.0, 200, 170.0, "2048 KB chunks")
    assert said.startswith("missed by 5%: undecided") and "170" in said and "out of" not in said


def test_a_goal_below_the_ceiling_is_fitqs_to_find():
    said = verdict(120.0, 150, 181.0, "512 KB chunks")
    assert said.startswith("missed by 20%") and "fitq's pass costs the rest" in said and "181" in said


def test_the_best_of_a_ceiling_is_its_fastest_chunk_size():
    top = floors.Ceiling(60e-6, {256 << 10: 225.0, 2 << 20: 170.0}, {256 << 10: 120.0, 2 << 20: 159.0})
    assert top.best() == (2 << 20, 159.0)
    assert top.best_floor() == (256 << 10, 225.0)
    assert floors.at(*top.best()) == "159.0 (2048 KB)"


@pytest.mark.parametrize("variant", ["module", "tensor"])
def test_a_ceiling_is_measured_at_every_size_and_never_above_its_floor(variant):
    # Two small chunk sizes keep this quick; the numbers are the machine's, only their relation is checked.
    top = floors.ceiling(variant, budgets=(16 << 10, 64 << 10))
    assert set(top.floors) == set(top.rates) == {16 << 10, 64 << 10}
    assert top.fixed_s >= 0
    assert all(0 < top.rates[b] <= top.floors[b] for b in top.floors)


def test_a_ceilings_rounds_add_up_as_they_are_sampled_beside_the_passes():
    samples = floors.Samples("tensor", budgets=(16 << 10, 64 << 10)).sample(2)
    samples.sample(1)
    assert len(samples.fixed) == 3 and all(len(taken) == 3 for taken in samples.seconds.values())
    top = samples.ceiling()
    assert set(top.floors) == {16 << 10, 64 << 10} and all(rate > 0 for rate in top.floors.values())


def test_a_chunk_holds_whole_jobs_of_its_dtype():
    assert floors.jobs_in("module", 2 << 20) == 262  # float32 rows of 2,000 samples
    assert floors.jobs_in("numpy", 2 << 20) == 131  # float64
    assert floors.jobs_in("tensor", 1024) == 1  # never none


def test_a_sweeps_extra_is_the_services_own_time_and_the_loops_drift():
    from bench.sweeps import split

    said = split({"wall": 7.83, "expected": 6.23, "loops": 7.04})
    assert said == "+1.60 s: the service's own 0.79 s, the worker's loops +0.81 s against the estimate"
    assert split({"wall": 10.53, "expected": 10.58, "loops": 9.61}).startswith("-0.05 s: the service's own 0.92 s")


def test_a_sweeps_split_names_the_estimates_own_margin_when_its_passes_ran_in_the_bench_too():
    from bench.sweeps import split

    said = split({"wall": 15.49, "expected": 11.46, "loops": 14.11, "bare": 12.40})
    assert said == ("+4.03 s: the service's own 1.38 s, the worker's loops +2.65 s against the estimate "
                    "(the same passes in the bench process +0.94 s, the worker's +1.71 s over them)")


def test_a_sweeps_bare_passes_run_every_point_once_in_passes_of_the_batch_size(monkeypatch):
    from bench import sweeps
    from fits import batched

    seeds, real = [], batched.run_batch

    def counted(variant, jobs, chunking=None):  # real passes, two steps long to keep this quick
        seeds.append([job["seed"] for job in jobs])
        return real(variant, [{**job, "steps": 2, "log_every": 1} for job in jobs], chunking=chunking)

    monkeypatch.setattr(batched, "run_batch", counted)
    wall, cpu = sweeps.bare_passes("tensor", 10, 4)
    assert seeds == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and wall > 0 and cpu > 0


def test_a_sweeps_estimate_is_the_mean_of_the_times_its_rates_before_and_after_give():
    from bench.sweeps import bracketed

    row = bracketed({"wall": 9.0}, 1000, (125.0, 100.0), (100.0, 80.0))
    # 8 s and 10 s: the estimate is 9 s, a rate of 111.1, not the mean rate (112.5, 8.9 s).
    assert row["expected"] == 9.0 and round(row["rate"], 1) == 111.1
    assert row["cpu expected"] == 11.25
    assert (row["before"], row["after"], round(row["moved"], 2)) == (125.0, 100.0, -0.2)
    assert row["wall"] == 9.0


def test_rounds_hold_each_goal_to_the_median_and_show_the_spread(capsys):
    from bench.batched import median_rates, print_rounds

    rounds = {"module": [161.6, 213.0, 201.8], "nn": [198.4, 230.0, 226.0, 222.0]}
    assert median_rates(rounds) == {"module": 201.8, "nn": 224.0}
    print_rounds(rounds, 1000)
    lines = capsys.readouterr().out.splitlines()
    module = next(line for line in lines if line.startswith("module"))
    # Its three rounds, the median, and the slowest 24% below the fastest.
    assert module.split() == ["module", "161.6", "213.0", "201.8", "201.8", "24%"]
    assert "round 4" in next(line for line in lines if line.startswith("variant"))


def test_the_rounds_after_the_first_are_held_to_their_seconds():
    from bench.batched import extra_rounds

    assert extra_rounds(3, None, [5.0, 28.0]) == 2  # no limit: every round asked
    assert extra_rounds(3, 120, [5.0, 35.0]) == 2  # 40 s a round: both fit
    assert extra_rounds(3, 120, [9.0, 28.0, 30.0]) == 1  # 67 s a round: one fits
    assert extra_rounds(3, 30, [9.0, 28.0]) == 0
