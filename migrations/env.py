"""Alembic environment: the URL comes from fitq's settings, the target metadata from the models."""
from alembic import context

from service.settings import Settings
from service.store.db import make_engine
from service.store.migrate import include_object
from service.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database


def run():
    """Run the migrations online against the configured database."""
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite", include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
