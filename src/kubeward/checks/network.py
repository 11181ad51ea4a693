"""network checks (issue 4)."""

from __future__ import annotations
