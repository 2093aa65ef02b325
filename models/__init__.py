"""The endpoint spec: frozen pydantic models validated once, at the edge. No Pulumi here."""
