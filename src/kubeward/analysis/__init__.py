"""Analyses over a whole inventory: pure models that checks and commands build on."""
