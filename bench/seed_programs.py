"""The seed notebook's programs, parsed from the notebook itself and run with a chosen seed and device."""
from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fits import nn_sequential
from fits.data import sine
from fits.seeding import normal_scalars

NOTEBOOK = "shared/seed/polynomial-variants-notebook.txt"

# How to tell the programs apart, tried in this order: the first marker a cell's code contains names it.
MARKERS = (
    ("custom_function", "class LegendrePolynomial3"),
    ("module", "class Polynomial3"),
    ("optim", "torch.optim.RMSprop"),
    ("nn", "torch.nn.Sequential"),
    ("autograd", "loss.backward()"),
    ("numpy", "import numpy"),
    ("tensor", "grad_y_pred"),
)
PRINTED_LOSS = re.compile(r"^(\d+) (\S+)$")


@dataclass(frozen=True)
class SeedRun:
    """One run of a seed program's training loop: what it printed and how long the loop took."""

    losses: list[tuple[int, float]]
    loop_s: float


def notebook_path() -> Path:
    """The seed notebook: $FITQ_SEED_NOTEBOOK, else ../shared/seed/... beside this checkout."""
    override = os.environ.get("FITQ_SEED_NOTEBOOK")
    return Path(override) if override else Path(__file__).resolve().parents[1].parent / NOTEBOOK


def programs(text: str | None = None) -> dict[str, str]:
    """{variant: code} for each program in the notebook, its printed output left out."""
    text = notebook_path().read_text() if text is None else text
    found: dict[str, str] = {}
    for cell in re.split(r"^In \[\d+\]:\n", text, flags=re.M)[1:]:
        code = _code_of(cell)
        name = next((name for name, marker in MARKERS if marker in code), None)
        if name is None:
            raise ValueError(f"a seed program like none of fitq's variants: {code[:60]!r}")
        if name in found:
            raise ValueError(f"two seed programs look like {name!r}")
        found[name] = code
    missing = {name for name, _ in MARKERS} - set(found)
    if missing:
        raise ValueError(f"no seed program for {', '.join(sorted(missing))} in the notebook")
    return found


def _code_of(cell: str) -> str:
    # A cell is its code, then its printed output, in paragraphs split by blank lines; the code is the
    # longest run of leading paragraphs that Python accepts (output lines like "99 2800.28" are not code).
    paragraphs = re.split(r"\n\s*\n", cell.split("\n###")[0])
    for end in range(len(paragraphs), 0, -1):
        code = "\n\n".join(paragraphs[:end])
        with contextlib.suppress(SyntaxError):
            compile(code, "<seed>", "exec")
            return code + "\n"
    raise ValueError(f"no Python code in the cell {cell[:60]!r}")


def on_device(code: str, device: str) -> str:
    """The program with its device set to `device` by text substitution."""
    # The autograd and custom_function programs pick CUDA when it is there and the manual tensor one
    # hard-codes it, each on one `device = ...` line; that line is replaced. The nn, optim and module
    # programs name no device (they run on the default one): torch.set_default_device is put after their
    # `import torch` for any device but the CPU. The numpy program has no device and runs on the CPU.
    code, lines = re.subn(r"^device = .*$", f"device = torch.device({device!r})", code, flags=re.M)
    if lines == 0 and device != "cpu" and "import torch\n" in code:
        code = code.replace("import torch\n", f"import torch\ntorch.set_default_device({device!r})\n", 1)
    return code


def run(variant: str, code: str, *, seed: int, device: str) -> SeedRun:
    """Run one seed program; its init is fitq's for `seed`, so fitq's loop can be compared with it."""
    setup, loop, rest = _split_at_loop(on_device(code, device))
    namespace: dict = {"__name__": f"seed_{variant}"}
    np.random.seed(seed)  # the numpy program draws its init from numpy's global generator
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(setup, namespace)
        _use_fitq_init(variant, namespace, seed, device)
        synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        buffer = io.StringIO()
        synchronize()
        with contextlib.redirect_stdout(buffer):
            start = time.perf_counter()
            exec(loop, namespace)
            synchronize()
            loop_s = time.perf_counter() - start
        with contextlib.redirect_stdout(printed):
            exec(rest, namespace)
    finally:
        # The autograd program sets a default device (and on_device may have): never let it leak into
        # the runs that follow.
        torch.set_default_device(None)
    losses = [(int(m[1]), float(m[2])) for m in map(PRINTED_LOSS.match, buffer.getvalue().splitlines()) if m]
    return SeedRun(losses, loop_s)


def _split_at_loop(code: str):
    # Everything before the training loop (imports, data, model) is set-up and is not timed.
    tree = ast.parse(code)
    at = next(i for i, node in enumerate(tree.body) if isinstance(node, ast.For))
    return tuple(compile(ast.Module(body=part, type_ignores=[]), "<seed>", "exec")
                 for part in (tree.body[:at], tree.body[at:at + 1], tree.body[at + 1:]))


def _use_fitq_init(variant: str, namespace: dict, seed: int, device: str) -> None:
    # fitq draws its init on the CPU from `seed`; the seed programs draw theirs from the global
    # generators (the CUDA one for tensors made on a GPU). Copy fitq's init into the program's own
    # tensors so the two loops start from the same point on every device.
    if variant in ("numpy", "custom_function"):
        return  # numpy: seeded above, the same draws as fitq's; custom_function: a fixed init
    model = namespace.get("model")
    mine = list(model.parameters()) if model is not None else [namespace[f"b_{i}"] for i in range(4)]
    with torch.device("cpu"):  # the program may have made another device the default
        if variant in ("nn", "optim"):
            fitq = list(nn_sequential.build(seed, sine(2000, "float32", "cpu"))[0].parameters())
        else:
            fitq = normal_scalars(seed, len(mine), torch.float32, torch.device("cpu"))
    with torch.no_grad():
        for tensor, value in zip(mine, fitq, strict=True):
            tensor.copy_(value)
