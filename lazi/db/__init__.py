"""The warehouse connection: DATABASE_URL when set, otherwise the project-local cluster."""
