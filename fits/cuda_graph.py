"""CUDA graphs: a training step captured once and replayed, so a step on a GPU is one launch."""
from __future__ import annotations

from collections.abc import Callable, Hashable

import torch

Step = Callable[..., torch.Tensor]


def replayed(step: Step, device: torch.device, enabled: bool = True) -> Step:
    """step itself, or on a CUDA device (when enabled) the step captured in CUDA graphs and replayed."""
    return CudaGraphStep(step) if enabled and device.type == "cuda" else step


class CudaGraphStep:
    """Calls step(*key) eagerly the first time it meets key, captures it on the second, replays after.

    The eager first call is a real step that also creates what later steps keep (optimizer state);
    a graph captured before that would replay the creation. One graph per key (DynamicNet's order),
    each with its own memory pool, so any order of replays is safe. A graph's loss tensor is rewritten
    by each replay: read it before the next step, as the training loop does.
    """

    def __init__(self, step: Step):
        self.step = step
        self.graphs: dict[tuple[Hashable, ...], tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self.warm: set[tuple[Hashable, ...]] = set()

    def __call__(self, *key: Hashable) -> torch.Tensor:
        entry = self.graphs.get(key)
        if entry is None:
            if key not in self.warm:
                self.warm.add(key)
                return self.warm_up(key)
            # Capturing records the kernels without running them: replay once for this step.
            entry = self.graphs[key] = self.capture(key)
        graph, loss = entry
        graph.replay()
        return loss

    def warm_up(self, key: tuple[Hashable, ...]) -> torch.Tensor:
        """One eager step on a side stream, as torch.cuda.graph asks before a capture."""
        # Handles and workspaces that CUDA libraries create lazily must exist before the capture.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            loss = self.step(*key)
        torch.cuda.current_stream().wait_stream(side)
        # Detached, so its autograd graph dies now: a node made on this stream and still alive would
        # be reused by a capture on another stream (autograd warns of the mismatch).
        return loss.detach()

    def capture(self, key: tuple[Hashable, ...]) -> tuple[torch.cuda.CUDAGraph, torch.Tensor]:
        """The step's kernels recorded in a new graph, with the loss tensor its replays write."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss = self.step(*key)
        return graph, loss.detach()  # its memory stays the graph's; its autograd graph can go
