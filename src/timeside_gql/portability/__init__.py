"""Moving data between instances: ``timeside-gql dump`` writes a self-describing archive of
rows (UUIDs kept) and files, ``timeside-gql load`` imports it into another instance, on either
database, all or nothing. See docs/operations.md."""
