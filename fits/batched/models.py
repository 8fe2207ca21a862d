"""The batched models, and where each job's copy of them starts (its seed's init, as solo runs draw it)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from fits import nn_sequential
from fits.data import Sample


class Polynomial3Batch(torch.nn.Module):
    """B Polynomial3 modules side by side: one (B, 4) Parameter `b`, job j's b_k at [j, k].

    One Parameter, not four of (B,) stacked each step: the stack, its backward, four gradient
    accumulations and four SGD updates cost 10-15% of a 131- to 524-job chunk's step on one CPU thread
    (docs/benchmarks.md), for the same numbers (the stack made this (4, B) array).
    """

    def __init__(self, init: torch.Tensor):
        super().__init__()
        # Stored column-major (a (4, B) array seen as (B, 4)): autograd then computes the gradient as
        # design @ grad.T, 3x faster here than the grad @ design.T a row-major one gets (see
        # variants.fold), and the forward is one product with no transpose in the graph: a view and
        # its backward node fewer, 7% of the step's fixed cost (docs/benchmarks.md), the same bits.
        self.b = torch.nn.Parameter(init.T.contiguous().T)

    def forward(self, design: torch.Tensor) -> torch.Tensor:
        """(B, N): b_0 + b_1 x + b_2 x^2 + b_3 x^3 for every job, as one product with the design matrix."""
        return self.b @ design

    def coefficients(self) -> torch.Tensor:
        """(B, 4): each job's b_0..b_3, detached."""
        return self.b.detach()

    def kept(self, rows: list[int]) -> Polynomial3Batch:
        """A new Polynomial3Batch of these jobs alone, with their parameters as they are now."""
        return Polynomial3Batch(self.coefficients()[rows])


def random_cubics(jobs: Sequence[Mapping], data: Sample) -> torch.Tensor:
    """(B, 4): row j holds what normal_scalars(seed_j, 4, ...) draws, drawn on the CPU, moved once."""
    # The same draws from one reseeded generator, four at a time: a generator and four calls per job
    # cost 12 times more, which adds up at GPU rates. test_batched checks the numbers are the same.
    generator, rows = torch.Generator(device="cpu"), []
    for job in jobs:
        generator.manual_seed(job["seed"])
        rows.append(torch.randn(4, generator=generator, dtype=data.dtype))
    return torch.stack(rows).to(data.device)


class LinearRows(torch.nn.Linear):
    """nn.Linear(3, B) holding B jobs' Linear(3, 1) layers (row j of weight and bias is job j's).

    Its forward is Linear's product transposed, weight @ inputs.T + bias, taking the (3, N) rows of
    (x, x^2, x^3): job j's outputs, losses and gradients are then the contiguous row j. Its weight is
    stored column-major, so that autograd computes the weight's gradient as rows @ grad.T (it does so
    for a column-major input): the fast layout of that skinny product, 3x faster here than the
    grad @ rows.T a row-major weight gets, and 10 to 20 times faster than Linear's own layout.
    """

    @classmethod
    def holding(cls, weight: torch.Tensor, bias: torch.Tensor) -> LinearRows:
        """A layer of copies of these (B, 3) weights and (B,) biases, its weight column-major."""
        layer = torch.nn.utils.skip_init(cls, weight.size(1), weight.size(0), device=weight.device,
                                         dtype=weight.dtype)
        layer.weight = torch.nn.Parameter(weight.new_empty(weight.shape[::-1]).T)  # a (3, B) seen as (B, 3)
        with torch.no_grad():
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        return layer

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias.unsqueeze(1), self.weight, rows)

    def coefficients(self) -> torch.Tensor:
        """(B, 4): [bias, weight for x, x^2, x^3] per job, as nn_sequential.coefficients lists them."""
        return torch.cat([self.bias.unsqueeze(1), self.weight], 1).detach()

    def kept(self, rows: list[int]) -> LinearRows:
        """A new LinearRows of these jobs alone, as they are now: the same numbers, the same layout."""
        return LinearRows.holding(self.weight.detach()[rows], self.bias.detach()[rows])


def sequential_layer(jobs: Sequence[Mapping], data: Sample) -> tuple[LinearRows, torch.Tensor]:
    """The jobs' layers as one LinearRows, each with the init nn_sequential.build draws for its seed,
    and its input: the rows x, x^2, x^3 of the solo loop's (N, 3) input."""
    weight, bias = linear_inits(jobs)
    layer = LinearRows.holding(weight.to(data.device, data.dtype), bias.to(data.device, data.dtype))
    _, xx = nn_sequential.build(jobs[0]["seed"], data)
    return layer, xx.T.contiguous()


def linear_inits(jobs: Sequence[Mapping]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3) weights and (B,) biases: row j is the init nn_sequential.build draws for seed_j.

    nn.Linear(3, 1).reset_parameters with a reseeded generator in place of the seeded global one:
    building B modules costs 20 times more. test_batched checks the numbers are build's.
    """
    generator = torch.Generator(device="cpu")
    weight, bias = torch.empty(len(jobs), 3), torch.empty(len(jobs))
    for j, job in enumerate(jobs):
        generator.manual_seed(job["seed"])
        torch.nn.init.kaiming_uniform_(weight[j:j + 1], a=math.sqrt(5), generator=generator)
        torch.nn.init.uniform_(bias[j:j + 1], -1 / math.sqrt(3), 1 / math.sqrt(3), generator=generator)
    return weight, bias

