"""The state enums of the data model, exposed under their GraphQL names."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from timeside_gql.db import models as m

# strawberry.enum marks the classes in place: the table columns and the API share one enum.
for _enum in (
    m.ProcessorKind,
    m.TaskStatus,
    m.JobStatus,
    m.ResultStatus,
    m.IngestStatus,
    m.WebhookEvent,
    m.DeliveryStatus,
):
    strawberry.enum(_enum)

ProcessorKind: TypeAlias = m.ProcessorKind
TaskStatus: TypeAlias = m.TaskStatus
JobStatus: TypeAlias = m.JobStatus
ResultStatus: TypeAlias = m.ResultStatus
IngestStatus: TypeAlias = m.IngestStatus
WebhookEvent: TypeAlias = m.WebhookEvent
DeliveryStatus: TypeAlias = m.DeliveryStatus
