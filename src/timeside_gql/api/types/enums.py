"""The state enums of the data model, exposed under their GraphQL names."""

from __future__ import annotations

import strawberry

from timeside_gql.db import models as m

ProcessorKind = strawberry.enum(m.ProcessorKind, name="ProcessorKind")
TaskStatus = strawberry.enum(m.TaskStatus, name="TaskStatus")
JobStatus = strawberry.enum(m.JobStatus, name="JobStatus")
ResultStatus = strawberry.enum(m.ResultStatus, name="ResultStatus")
