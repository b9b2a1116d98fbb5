"""timeside-gql: a GraphQL audio analysis server built on an embeddable audio core."""

__version__ = "0.1.0"
