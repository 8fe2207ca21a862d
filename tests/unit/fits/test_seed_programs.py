"""Each loop against a literal transcription of its seed program: the same losses, bit for bit.

The transcriptions differ from the seed only where the fit must: the init comes from the seed's
generators (fits.seeding), and nothing is set globally.
"""
import math
import random

import numpy as np
import pytest
import torch

from fits import dynamic, registry
from fits.seeding import global_seed, normal_scalars

STEPS, EVERY, SEED = 300, 30, 5


def logged(t, loss, out):
    if t % EVERY == EVERY - 1:
        out.append((t, float(loss)))


def numpy_seed():
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    rs = np.random.RandomState(SEED)
    b_0, b_1, b_2, b_3 = rs.randn(), rs.randn(), rs.randn(), rs.randn()
    out = []
    for t in range(STEPS):
        y_pred = b_0 + b_1 * x + b_2 * x ** 2 + b_3 * x ** 3
        loss = np.square(y_pred - y).sum()
        logged(t, loss, out)
        grad_y_pred = 2.0 * (y_pred - y)
        b_0 -= 1e-6 * grad_y_pred.sum()
        b_1 -= 1e-6 * (grad_y_pred * x).sum()
        b_2 -= 1e-6 * (grad_y_pred * x ** 2).sum()
        b_3 -= 1e-6 * (grad_y_pred * x ** 3).sum()
    return out


def tensor_seed():
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    b_0, b_1, b_2, b_3 = normal_scalars(SEED, 4, torch.float32, torch.device("cpu"))
    out = []
    for t in range(STEPS):
        y_pred = b_0 + b_1 * x + b_2 * x ** 2 + b_3 * x ** 3
        loss = (y_pred - y).pow(2).sum().item()
        logged(t, loss, out)
        grad_y_pred = 2.0 * (y_pred - y)
        grads = [grad_y_pred.sum(), (grad_y_pred * x).sum(), (grad_y_pred * x ** 2).sum(),
                 (grad_y_pred * x ** 3).sum()]
        for b, grad in zip((b_0, b_1, b_2, b_3), grads):
            b -= 1e-6 * grad
    return out


def autograd_seed():
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    b = [v.requires_grad_() for v in normal_scalars(SEED, 4, torch.float32, torch.device("cpu"))]
    out = []
    for t in range(STEPS):
        y_pred = b[0] + b[1] * x + b[2] * x ** 2 + b[3] * x ** 3
        loss = (y_pred - y).pow(2).sum()
        logged(t, loss.item(), out)
        loss.backward()
        with torch.no_grad():
            for v in b:
                v -= 1e-6 * v.grad
            for v in b:
                v.grad = None
    return out


def sequential_seed(optimizer_class=None, lr=1e-6):
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))
    with global_seed(SEED):
        model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = optimizer_class(model.parameters(), lr=lr) if optimizer_class else None
    out = []
    for t in range(STEPS):
        loss = loss_fn(model(xx), y)
        logged(t, loss.item(), out)
        if optimizer:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for param in model.parameters():
                    param -= lr * param.grad
    return out


class SeedPolynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.b_0, self.b_1, self.b_2, self.b_3 = (
            torch.nn.Parameter(v) for v in normal_scalars(SEED, 4, torch.float32, torch.device("cpu")))

    def forward(self, x):
        return self.b_0 + self.b_1 * x + self.b_2 * x ** 2 + self.b_3 * x ** 3


class SeedDynamicNet(dynamic.DynamicNet):
    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, self.rng.randint(4, 6)):
            y = y + self.e * x ** exp
        return y


def module_seed(model, **sgd):
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), **sgd)
    out = []
    for t in range(STEPS):
        loss = criterion(model(x), y)
        logged(t, loss.item(), out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return out


PROGRAMS = {
    "numpy": (numpy_seed, {"dtype": "float64"}),
    "tensor": (tensor_seed, {}),
    "autograd": (autograd_seed, {}),
    "nn": (sequential_seed, {}),
    "optim": (lambda: sequential_seed(torch.optim.RMSprop, 1e-3), {"learning_rate": 1e-3}),
    "module": (lambda: module_seed(SeedPolynomial3(), lr=1e-6), {}),
    "dynamic": (lambda: module_seed(SeedDynamicNet(normal_scalars(SEED, 5, torch.float32, torch.device("cpu")),
                                                   random.Random(SEED)), lr=1e-8, momentum=0.9),
                {"learning_rate": 1e-8}),
}


@pytest.mark.parametrize("variant", sorted(PROGRAMS))
def test_loop_matches_its_seed_program(variant):
    program, overrides = PROGRAMS[variant]
    params = {"learning_rate": 1e-6, "steps": STEPS, "samples": 2000, "seed": SEED, "dtype": "float32",
              "device": "cpu", "log_every": EVERY, **overrides}

    result = registry.run(variant, params)

    assert result.loss_history == program()
