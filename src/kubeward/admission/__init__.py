"""`kubeward admission`: the scan checks enforced by a validating (and optionally
mutating) admission webhook.

- :mod:`.review`   AdmissionReview v1 in and out (validation, responses)
- :mod:`.policy`   the admission policy file: modes, overrides, exemptions, mutations
- :mod:`.evaluate` one object through the registered per-resource checks, and the decision
- :mod:`.mutate`   secure defaults as JSONPatch
- :mod:`.server`   the HTTPS server (asyncio), :mod:`.metrics` its Prometheus text
- :mod:`.install`  the manifests that deploy it
"""
