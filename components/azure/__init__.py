"""Azure ML managed online endpoints (azure-native v3)."""
