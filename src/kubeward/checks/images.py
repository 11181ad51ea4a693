"""Container images: tags, digests, registries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ..inventory import WORKLOADS, PodSpec
from ..model import Severity, Violation
from .registry import check


class ImageRef(NamedTuple):
    name: str  # registry and repository, e.g. ghcr.io/org/app
    tag: str | None
    digest: str | None


def parse_image(image: str) -> ImageRef:
    """Split ``registry/repo:tag@digest`` into its parts (no normalisation)."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:  # a ':' before the last '/' is a registry port
        name, tag = name[:colon], name[colon + 1 :]
    return ImageRef(name, tag or None, digest or None)


@check(
    id="KW-I001",
    slug="image-tag-latest",
    title="Images must be pinned to a version, not :latest or untagged",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""An untagged image means :latest, which changes under you: what runs is not what
        was reviewed or scanned, two replicas can run different code, and a rollback
        cannot return to the previous version.""",
    remediation="Use a specific version tag, or better a digest (image@sha256:...).",
    refs={"nsa": "image-security", "kube-score": "container-image-tag"},
    tags=("images",),
)
def image_tag_latest(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        image = c.data.get("image")
        if not isinstance(image, str) or not image:
            continue
        ref = parse_image(image)
        if ref.digest:
            continue
        if ref.tag is None:
            yield Violation(c.at("image"), f"container {c.name!r} uses an untagged image {image!r} (means :latest)", c.name)
        elif ref.tag == "latest":
            yield Violation(c.at("image"), f"container {c.name!r} uses the mutable tag {image!r}", c.name)
