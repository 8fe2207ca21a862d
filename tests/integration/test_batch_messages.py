"""A message that names several jobs (how a sweep is sent) on a real worker with its own BATCH_SIZE."""
from fits.params import resolve
from service.queue import RUN_FIT, make_celery
from service.settings import Settings
from service.store import jobs
from service.store.db import make_engine, make_sessionmaker
from tests.integration.conftest import Stack


def test_a_message_naming_more_jobs_than_a_workers_batch_size_runs_them_all_once(
        tmp_path_factory, pg_url, redis_url):
    # A worker configured with a smaller BATCH_SIZE than the API that sent the message: it runs what
    # its batch holds and sends the rest on, so none is stranded without a message.
    stack = Stack(tmp_path_factory.mktemp("small-batches"), pg_url, redis_url, {"BATCH_SIZE": "4"})
    try:
        settings = Settings.from_env(stack.env)
        engine = make_engine(settings.database)
        with make_sessionmaker(engine)() as session:
            made = [jobs.create(session=session, variant="tensor", params=resolve(
                "tensor", {"steps": 100, "samples": 100, "device": "cpu", "seed": seed}))[0]
                for seed in range(10)]
        engine.dispose()
        celery = make_celery(settings)
        celery.send_task(RUN_FIT, args=[made[0].id, [job.id for job in made[1:]]], queue="cpu")
        celery.close()

        done = [stack.client.wait(job.id) for job in made]

        assert [job["status"] for job in done] == ["succeeded"] * 10
        assert {job["attempts"] for job in done} == {1}
        log = stack.worker.output()
        assert "sent on in a message of their own" in log
        assert "in a batch of 4 with" in log and "in a batch of 5" not in log
        for job in made:
            assert log.count(f"job {job.id} succeeded") == 1
    finally:
        stack.close()
