"""Model services that the Kubernetes stack deploys as BentoML images."""
