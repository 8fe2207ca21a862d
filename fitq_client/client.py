"""The entry point: a Client of one fitq deployment that submits, lists and finds jobs and sweeps."""
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fitq_client.job import Job
from fitq_client.sweep import Sweep
from fitq_client.transport import Transport

DEFAULT_URL = "http://127.0.0.1:8000"  # where `fitq up` serves with no HOST or PORT set
PAGE = 200  # the most jobs one GET /jobs answers


class Client:
    """fitq's HTTP API at `url`, with a bearer `token` when the server wants one."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 30.0):
        self.transport = Transport(url, token, timeout)

    @property
    def url(self) -> str:
        """The API's base URL."""
        return self.transport.url

    def __repr__(self) -> str:
        return f"<fitq Client {self.url}>"

    def submit(self, variant: str, params: dict[str, Any] | None = None, /, *, timeout_s: int | None = None,
               idempotency_key: str | None = None, callback_url: str | None = None, **more: Any) -> Job:
        """Submit a job of `variant` with these parameters (a dict, keywords, or both); the queued job's
        handle. Left out, a parameter takes the variant's default. With `callback_url`, its end is POSTed
        there, signed (docs/webhooks.md)."""
        body: dict[str, Any] = {"variant": variant, "params": {**(params or {}), **more}}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        if callback_url is not None:
            body["callback_url"] = callback_url
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return Job(self.transport, self.transport.post("/api/v1/jobs", body, headers))

    def sweep(self, variant: str, grid: dict[str, list[Any]], params: dict[str, Any] | None = None, /, *,
              timeout_s: int | None = None, callback_url: str | None = None, **more: Any) -> Sweep:
        """Submit one job per combination of the grid's values (name -> list), the other parameters fixed
        (a dict, keywords, or both); with `callback_url`, the sweep's end is POSTed there, signed."""
        body: dict[str, Any] = {"variant": variant, "params": {**(params or {}), **more}, "grid": grid}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        if callback_url is not None:
            body["callback_url"] = callback_url
        return Sweep(self.transport, self.transport.post("/api/v1/sweeps", body), self.jobs)

    def search(self, variant: str, space: dict[str, Any], trials: int, params: dict[str, Any] | None = None, /, *,
               strategy: str = "tpe", search_seed: int | None = None, parallelism: int | None = None,
               stop_at_excess: float | None = None, pruner: dict[str, Any] | None = None,
               timeout_s: int | None = None, callback_url: str | None = None, **more: Any) -> Sweep:
        """Submit a random or tpe search (docs/search.md): up to `trials` jobs whose parameters in `space`
        (name -> {"low", "high", "log"} or {"choices": [...]}) the server's sweeper asks of Optuna,
        `parallelism` at a time, the other parameters fixed; it stops early at `stop_at_excess`, and
        `pruner` ({"kind": "asha" | "median", "rungs": [...]}) stops lagging trials. Left out, the server
        chooses `search_seed` (the search's own; a job's `seed` is a parameter) and `parallelism`."""
        body: dict[str, Any] = {"variant": variant, "params": {**(params or {}), **more}, "strategy": strategy,
                                "space": space, "trials": trials}
        chosen = {"seed": search_seed, "parallelism": parallelism, "stop_at_excess": stop_at_excess, "pruner": pruner,
                  "timeout_s": timeout_s, "callback_url": callback_url}
        body.update({name: value for name, value in chosen.items() if value is not None})
        return Sweep(self.transport, self.transport.post("/api/v1/sweeps", body), self.jobs)

    def job(self, job_id: str) -> Job:
        """The job with this id, read now (a 404 FitqError if there is none)."""
        return Job(self.transport, {"id": job_id}).refresh()

    def get_sweep(self, sweep_id: str) -> Sweep:
        """The sweep with this id, read now."""
        document = self.transport.get(f"/api/v1/sweeps/{quote(sweep_id, safe='')}")
        return Sweep(self.transport, document, self.jobs)

    def jobs(self, *, page_size: int = PAGE, params: dict[str, Any] | None = None, **filters: Any) -> Iterator[Job]:
        """Every job that matches, read a page at a time as the iteration reaches it: filters variant,
        status ("queued,running"), sweep, created_after, created_before, order_by ("-created_at");
        params matches resolved parameters exactly."""
        query = {**filters, **{f"param.{k}": v for k, v in (params or {}).items()}}
        cursor = None
        while True:
            page = self.transport.get("/api/v1/jobs", **query, limit=page_size, cursor=cursor)
            for document in page["items"]:
                yield Job(self.transport, document)
            if not (cursor := page["next_cursor"]):
                return

    def variants(self) -> list[dict[str, Any]]:
        """The training variants this deployment runs, with their defaults."""
        return list(self.transport.get("/api/v1/variants"))

    def whoami(self) -> dict[str, Any]:
        """The caller's owner and scopes, as the API sees its token."""
        return dict(self.transport.get("/api/v1/whoami"))
