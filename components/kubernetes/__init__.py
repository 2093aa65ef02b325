"""Kubernetes target: BentoML services behind a Gateway API route."""
