"""Pulumi ComponentResources that turn a validated endpoint spec into cloud resources."""
