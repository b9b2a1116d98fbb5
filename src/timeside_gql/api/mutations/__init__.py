"""The Mutation root, assembled from one class per family of models."""

from __future__ import annotations

import strawberry

from timeside_gql.api.mutations.analyses import AnalysisMutations
from timeside_gql.api.mutations.annotations import AnnotationMutations
from timeside_gql.api.mutations.auth import AuthMutations
from timeside_gql.api.mutations.catalog import CatalogMutations
from timeside_gql.api.mutations.experiences import ExperienceMutations
from timeside_gql.api.mutations.items import ItemMutations
from timeside_gql.api.mutations.selections import SelectionMutations
from timeside_gql.api.mutations.tasks import TaskMutations, TaskRunMutations
from timeside_gql.api.mutations.webhooks import WebhookMutations


@strawberry.type
class Mutation(
    AuthMutations,
    ItemMutations,
    SelectionMutations,
    CatalogMutations,
    ExperienceMutations,
    TaskMutations,
    TaskRunMutations,
    AnnotationMutations,
    AnalysisMutations,
    WebhookMutations,
):
    """Every write; expected failures come back as typed members of each payload union."""
