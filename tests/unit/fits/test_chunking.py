"""The CPU chunk sizes: measured per variant by its own passes, then the fastest kept."""
import pytest

from fits import batched
from fits.batched import chunking
from fits.batched.chunking import Tuner

KB = 1 << 10


def test_until_settled_a_quarter_of_a_pass_measures_sizes_and_the_rest_runs_at_the_best_so_far():
    tuner = Tuner((4 * KB, 8 * KB), settle_s=1.0)

    # Rows of 1 KB. Nothing measured yet: the largest size is measured first, and is the best so far.
    # The last chunk is what is left, and is not measured (budget 0).
    assert tuner.plan("tensor", 30, KB) == [(8, 8 * KB), (8, 8 * KB), (8, 8 * KB), (6, 0)]
    tuner.record("tensor", 8 * KB, job_steps=1000, seconds=0.25)
    # Then the least measured, as many jobs as one of the largest, within a quarter of the pass.
    assert tuner.plan("tensor", 32, KB) == [(4, 4 * KB), (4, 4 * KB), (8, 8 * KB), (8, 8 * KB), (8, 8 * KB)]
    tuner.record("tensor", 4 * KB, job_steps=1100, seconds=0.25)
    # Both measured alike, the largest first; the rest at the faster.
    assert tuner.plan("tensor", 32, KB) == [(8, 8 * KB), *[(4, 4 * KB)] * 6]



def test_before_any_size_is_measured_the_rest_of_a_pass_runs_at_1_mb():
    # 1,000 default jobs, 8,000-byte rows: one 2 MB chunk measured, the rest at 1 MB, not at 2 MB (which
    # ran numpy at half its best).
    plan = Tuner().plan("numpy", 1000, 8000)

    assert plan[0] == (262, 2 << 20)
    assert plan[1:-1] == [(131, 1 << 20)] * 5 and plan[-1] == (83, 0)


def test_a_tuner_that_explores_every_job_cuts_every_size_in_turn_round_after_round():
    tuner = Tuner((4 * KB, 8 * KB), settle_s=1.0, explore=1.0)  # as benches settle

    # Rounds of as many jobs per size; the last chunk is what is left, and is not measured.
    assert tuner.plan("tensor", 30, KB) == [(8, 8 * KB), (4, 4 * KB), (4, 4 * KB), (8, 8 * KB), (4, 4 * KB), (2, 0)]


def test_a_batch_that_fills_fewer_than_two_candidates_is_one_chunk():
    tuner = Tuner((4 * KB, 8 * KB, 16 * KB))

    assert tuner.plan("tensor", 7, KB) == [(7, 0)]  # not cut to time 4 KB against the whole 7
    assert tuner.plan("tensor", 3, KB) == [(3, 0)]
    assert tuner.rates("tensor") == {} and tuner.chosen("tensor") is None


def test_a_batch_cut_to_compare_sizes_is_compared_whole_too_under_the_first_candidate_past_it():
    tuner = Tuner((4 * KB, 8 * KB, 16 * KB, 32 * KB))

    # 12 jobs of 1 KB fill the 4- and 8-job candidates; 16 KB (and 32 KB) would make them one chunk of
    # 12: that is compared too, under 16 KB, and first, as the largest.
    assert tuner.plan("tensor", 12, KB) == [(12, 16 * KB)]
    tuner.record("tensor", 16 * KB, job_steps=1200, seconds=0.1)
    assert tuner.plan("tensor", 12, KB) == [(8, 8 * KB), (4, 0)]  # then the least measured
    tuner.record("tensor", 8 * KB, job_steps=800, seconds=0.1)
    assert tuner.plan("tensor", 12, KB) == [(4, 4 * KB), (8, 0)]  # a quarter measures, the rest is one chunk
    tuner.record("tensor", 32 * KB, job_steps=10**6, seconds=0.1)  # never offered: not counted
    assert tuner.rates("tensor") == {8 * KB: 8000.0, 16 * KB: 12000.0}


def test_it_settles_on_the_fastest_once_every_offered_candidate_ran_long_enough():
    tuner = Tuner((4 * KB, 8 * KB, 16 * KB, 32 * KB), settle_s=1.0)
    tuner.plan("nn", 12, KB)  # offers 4 KB, 8 KB and 16 KB (the whole batch), not 32 KB

    tuner.record("nn", 4 * KB, job_steps=2400, seconds=1.0)
    tuner.record("nn", 16 * KB, job_steps=2000, seconds=1.0)
    tuner.record("nn", 8 * KB, job_steps=1500, seconds=0.5)
    assert tuner.chosen("nn") is None  # 8 KB has not run a second yet
    tuner.record("nn", 8 * KB, job_steps=1500, seconds=0.5)

    assert tuner.chosen("nn") == 8 * KB
    assert tuner.rates("nn") == {4 * KB: 2400.0, 8 * KB: 3000.0, 16 * KB: 2000.0}
    assert tuner.plan("nn", 20, KB) == [(8, 8 * KB), (8, 8 * KB), (4, 0)]
    assert tuner.chosen("tensor") is None  # each variant measures its own


def test_a_batch_shorter_than_a_round_reaches_every_candidate_and_settles():
    # 10 jobs of 1 KB rows offer 2, 4 and 8 KB, but one round (8, then 4 and 4, then four 2s) is 24
    # jobs: a pass always cut in that order would time 8 and 4 and never 2, as BATCH_SIZE=256 did with
    # 1 MB, 512 KB and 256 KB, and the variant would never settle.
    tuner = Tuner((2 * KB, 4 * KB, 8 * KB), settle_s=1.0)
    cut = []
    for _ in range(20):
        plan = tuner.plan("module", 10, KB)
        cut.append(plan)
        for jobs, budget in plan:
            tuner.record("module", budget, job_steps=jobs * 100, seconds=0.5 * jobs / 8)
        if tuner.chosen("module") is not None:
            break

    assert cut[0] == [(8, 8 * KB), (2, 0)]  # the largest first, as before
    assert cut[1] == [(4, 4 * KB), (6, 0)]  # then the least measured
    assert any((2, 2 * KB) in plan for plan in cut)
    assert tuner.chosen("module") is not None
    assert set(tuner.rates("module")) == {2 * KB, 4 * KB, 8 * KB}


def test_a_size_far_slower_than_the_best_is_dropped_after_a_quarter_of_its_time():
    tuner = Tuner((2 * KB, 4 * KB, 8 * KB), settle_s=1.0)
    tuner.plan("module", 40, KB)

    tuner.record("module", 8 * KB, job_steps=3000, seconds=0.25)  # 12,000 a second
    tuner.record("module", 2 * KB, job_steps=1000, seconds=0.2)  # 5,000, but not a quarter second yet
    assert (2, 2 * KB) in tuner.plan("module", 40, KB)  # still cut
    tuner.record("module", 2 * KB, job_steps=250, seconds=0.05)  # 5,000 over 0.25 s: under 2/3 of 12,000
    tuner.record("module", 4 * KB, job_steps=2500, seconds=0.25)  # 10,000: within a third, kept

    assert all(budget != 2 * KB for _, budget in tuner.plan("module", 40, KB))
    tuner.record("module", 2 * KB, job_steps=10**6, seconds=1.0)  # a chunk planned before: not counted
    assert tuner.rates("module")[2 * KB] == 5000.0
    tuner.record("module", 8 * KB, job_steps=9000, seconds=0.75)
    assert tuner.chosen("module") is None  # 4 KB has not run its second
    tuner.record("module", 4 * KB, job_steps=7500, seconds=0.75)
    assert tuner.chosen("module") == 8 * KB


def test_when_one_size_is_left_it_is_chosen():
    tuner = Tuner((2 * KB, 4 * KB, 8 * KB), settle_s=1.0)
    tuner.plan("module", 40, KB)

    for budget, rate in ((8 * KB, 12000), (4 * KB, 6000), (2 * KB, 4000)):
        tuner.record("module", budget, job_steps=rate // 4, seconds=0.25)

    assert tuner.chosen("module") == 8 * KB
    assert tuner.plan("module", 20, KB) == [(8, 8 * KB), (8, 8 * KB), (4, 0)]


def test_what_no_candidate_made_is_not_counted():
    tuner = Tuner((4 * KB, 8 * KB), settle_s=0.1)
    tuner.plan("nn", 12, KB)

    tuner.record("nn", 0, job_steps=10**6, seconds=5.0)  # a last, partial chunk
    tuner.record("nn", 16 * KB, job_steps=10**6, seconds=5.0)  # not a candidate
    tuner.record("nn", 4 * KB, job_steps=100, seconds=1.0)

    assert tuner.rates("nn") == {4 * KB: 100.0} and tuner.chosen("nn") is None


def test_one_candidate_is_a_fixed_size():
    tuner = Tuner((8 * KB,))

    assert tuner.plan("nn", 20, KB) == [(8, 8 * KB), (8, 8 * KB), (4, 0)]
    tuner.record("nn", 8 * KB, job_steps=100, seconds=5.0)
    assert tuner.chosen("nn") is None


@pytest.mark.parametrize("candidates", [(), (0, 4 * KB), (-1,)])
def test_budgets_must_be_positive(candidates):
    with pytest.raises(ValueError, match="positive byte counts"):
        Tuner(candidates)


def test_a_real_pass_measures_each_candidate_and_the_sizes_change_no_number(params):
    # custom_function is bit for bit against its solo runs, so a pass cut one way equals one cut another.
    tuner = Tuner((8 * KB, 16 * KB), settle_s=0.0)
    batch = [params("custom_function", learning_rate=5e-6 * (1 + s / 50), samples=256, steps=40, log_every=10)
             for s in range(24)]

    # Two passes: the first measures 16 KB (then the rest), the second 8 KB, then 16 KB again.
    learning = [batched.run_batch("custom_function", batch, chunking=tuner) for _ in range(2)]
    fixed = batched.run_batch("custom_function", batch, chunking=Tuner((16 * KB,)))

    assert set(tuner.rates("custom_function")) == {8 * KB, 16 * KB}
    assert all(rate > 0 for rate in tuner.rates("custom_function").values())
    assert tuner.chosen("custom_function") in (8 * KB, 16 * KB)
    for results in learning:
        assert [(r.loss_history, r.coefficients) for r in results] == \
            [(r.loss_history, r.coefficients) for r in fixed]


def test_describe_says_each_rate_and_the_choice():
    text = chunking.describe({512 * KB: 1_600_000.0, 1 << 20: 1_760_000.0}, 1 << 20)

    assert text == "512 KB 800.0, 1 MB 880.0 fits/s of 2000-step jobs; chosen 1 MB"


def test_a_chunk_pruning_has_cut_is_no_longer_timed_as_its_size(params):
    class Recording(Tuner):
        def record(self, variant, budget, job_steps, seconds):
            records.append((budget, job_steps))

    records: list[tuple[int, int]] = []
    # 256 float32 samples are 1 KB a row: 32 jobs are two chunks of 16 (one measuring 16 KB, one at
    # the best size so far, the largest).
    batch = [params("tensor", seed=s, samples=256, steps=200, log_every=100) for s in range(32)]

    batched.run_batch("tensor", batch, chunking=Recording((8 * KB, 16 * KB)),
                      prune=lambda step, losses: {3} if step == 100 else set())

    # Both chunks' first stretch of 100 steps; after job 3 left the first, only the second's.
    assert records == [(16 * KB, 1600), (16 * KB, 1600), (16 * KB, 1600)]
