"""kubeward: check, enforce and fix Kubernetes security best practices."""

__version__ = "0.1.0"
