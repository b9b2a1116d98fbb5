"""GraphQL object types, one module per family of models; each maps rows, never exposes them."""
