"""fitq's Celery worker: runs fit jobs from the queue."""
