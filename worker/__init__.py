"""fitq's Celery worker process: it claims jobs, runs fits' training loops and records each outcome.
Imports fits, the store, the queue and the roster; never the API, dashboard, ops or CLI wings."""
