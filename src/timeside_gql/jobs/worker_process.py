"""What Dramatiq's CLI loads in each ``timeside-gql worker`` process: the actors, and the
process's upkeep (heartbeats of its jobs, the outbox dispatcher, the reconciler when elected)."""

from timeside_gql.jobs.actors import broker
from timeside_gql.jobs.middleware import RunUpkeep

broker.add_middleware(RunUpkeep())
