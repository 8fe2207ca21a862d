"""bench.loops' table: each loop's speed-up against its target, and the targets issue 15 withdrew."""
from bench.loops import table


def row(variant, seed_ms, fitq_ms, target, withdrawn=False):
    return {"variant": variant, "seed_ms": seed_ms, "fitq_ms": fitq_ms, "target": target,
            "withdrawn": withdrawn, "seed_diff": (0.0, True)}


def test_a_withdrawn_cpu_target_is_not_a_miss_and_the_table_says_why():
    lines = table([row("numpy", 300.0, 60.0, 10), row("tensor", 200.0, 40.0, 4),
                   row("autograd", 900.0, 450.0, 10, withdrawn=True)], "cpu").splitlines()

    numpy, tensor, autograd = lines[1:4]
    assert "5.0x" in numpy and "10x MISS" in numpy  # a target that stands is still judged
    assert "4x   ok" in tensor
    assert "withdrawn" in autograd and "MISS" not in autograd and "2.0x" in autograd
    assert lines[-1].startswith("withdrawn: issue 15 withdrew the CPU targets")


def test_with_no_withdrawn_row_there_is_no_note():
    text = table([row("autograd", 900.0, 90.0, 10)], "cpu")
    assert "10x   ok" in text and "withdrawn" not in text
