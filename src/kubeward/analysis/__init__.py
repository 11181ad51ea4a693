"""Analyses over a whole Inventory that several checks and commands share.

Layering: ``checks -> analysis -> inventory / selectors -> model``. Pure
functions of their input, no I/O.
"""
