"""Container images: tags, digests, registries."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from ..inventory import WORKLOADS, Container, PodSpec
from ..model import Severity, Violation
from .registry import check

if TYPE_CHECKING:
    from ..config import Config  # config imports the registry: no import at run time


class ImageRef(NamedTuple):
    name: str  # registry and repository, e.g. ghcr.io/org/app
    tag: str | None
    digest: str | None


@functools.lru_cache(maxsize=4096)  # a repository names a few images many times, and six checks parse each
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
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1525"},
    example="""
        image: ghcr.io/acme/web:1.4.2@sha256:4bf7...   # a version, better a digest
    """,
    tags=("images",),
)
def image_tag_latest(pod: PodSpec) -> Iterator[Violation]:
    for c, image, ref in _images(pod):
        if ref.digest:
            continue
        if ref.tag is None:
            yield Violation(c.at("image"), f"container {c.name!r} uses an untagged image {image!r} (means :latest)", c.name)
        elif ref.tag == "latest":
            yield Violation(c.at("image"), f"container {c.name!r} uses the mutable tag {image!r}", c.name)


# -- registries and normalisation ----------------------------------------------

DOCKER_HUB = "docker.io"
# Tags that name a channel, not a release: what they point at moves (KW-I001 covers latest).
FLOATING_TAGS = frozenset("stable main master dev develop edge nightly canary beta alpha release current rolling lts".split())


def explicit_registry(name: str) -> str | None:
    """The registry host named in an image (``ghcr.io``, ``localhost:5000``), or None for Docker Hub's implicit one."""
    first, slash, _ = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def registry_of(image: str) -> str:
    """The registry an image is pulled from: its first path component if that is a host, else docker.io."""
    return explicit_registry(parse_image(image).name) or DOCKER_HUB


def normalise_image(image: str) -> str:
    """The full reference as the runtime reads it: ``nginx:1.25`` -> ``docker.io/library/nginx:1.25``."""
    ref = parse_image(image)
    host = explicit_registry(ref.name)
    path = ref.name[len(host) + 1 :] if host else ref.name
    host = (host or DOCKER_HUB).lower()  # host names are case-insensitive
    if host == "index.docker.io":  # Docker's legacy name for Hub
        host = DOCKER_HUB
    if host == DOCKER_HUB and "/" not in path:
        path = "library/" + path  # official images
    return host + "/" + path + (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")


def image_matches(image: str, globs: tuple[str, ...]) -> str | None:
    """The first glob matching the image as written or normalised (docker.io/library/...), else None."""
    forms = (image, normalise_image(image))
    return next((g for g in globs if any(fnmatch.fnmatchcase(f, g) for f in forms)), None)


def _images(pod: PodSpec) -> list[tuple[Container, str, ImageRef]]:
    """(container, image, parsed image) for every container that names an image."""
    return pod.cached("images", _find_images)


def _find_images(pod: PodSpec) -> list[tuple[Container, str, ImageRef]]:
    found = []
    for c in pod.containers():
        image = c.data.get("image")
        if isinstance(image, str) and image:
            found.append((c, image, parse_image(image)))
    return found


def _pull_policy(c: Container, ref: ImageRef) -> tuple[str, bool]:
    """The effective imagePullPolicy, and whether it was written (Kubernetes defaults it from the tag)."""
    policy = c.data.get("imagePullPolicy")
    if isinstance(policy, str) and policy:
        return policy, True
    # as the API server defaults it: Always for :latest or no tag (a digest alone counts as a tag)
    return ("Always" if ref.tag in (None, "latest") and not ref.digest else "IfNotPresent"), False


@check(
    id="KW-I002",
    slug="image-not-pinned-by-digest",
    title="Images should be pinned by digest",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""A tag is a pointer the registry owner (or whoever compromises the registry) can
        move: the same manifest can run different code tomorrow. Only a digest names exactly
        the image that was reviewed and scanned. Teams that require digests can raise this
        check with the `severity:` setting of .kubeward.yaml (e.g. `image-not-pinned-by-digest: high`).""",
    remediation="Reference images by digest, e.g. image: registry.example.com/app:1.4.2@sha256:<digest>.",
    example="""
        containers:
          - name: app
            image: registry.example.com/app:1.4.2@sha256:9b7c0a5f...
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1525"},
    tags=("images",),
)
def image_not_pinned_by_digest(pod: PodSpec) -> Iterator[Violation]:
    for c, image, ref in _images(pod):
        if not ref.digest:
            yield Violation(c.at("image"), f"container {c.name!r} image {image!r} is not pinned by digest", c.name)


@check(
    id="KW-I003",
    slug="image-registry-not-allowed",
    title="Images must come from an allowed registry",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    takes_config=True,
    rationale="""When images.allowed-registries is set, only images from those registries are
        trusted: an image from anywhere else bypasses the scanning, signing and provenance
        controls of the organisation's registry and may be a typosquatted or malicious image.""",
    remediation="Pull the image from an allowed registry (mirror it there), or add its registry to images.allowed-registries.",
    example="""
        # .kubeward.yaml: images: {allowed-registries: ["registry.example.com/*"]}
        containers:
          - name: app
            image: registry.example.com/mirror/nginx:1.27.0
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1204.003"},
    tags=("images",),
)
def image_registry_not_allowed(pod: PodSpec, config: Config) -> Iterator[Violation]:
    allowed = config.allowed_registries
    if not allowed:
        return  # no allowlist: any registry
    for c, image, _ in _images(pod):
        if image_matches(image, allowed) is None:
            yield Violation(
                c.at("image"),
                f"container {c.name!r} image {image!r} is not from an allowed registry ({registry_of(image)})",
                c.name,
            )


@check(
    id="KW-I004",
    slug="image-registry-denied",
    title="Images must not come from a denied registry",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    takes_config=True,
    rationale="""images.denied-registries names registries the organisation does not trust (a public
        hub, a decommissioned mirror). The pattern is matched on the reference as written and as
        the runtime normalises it, so "nginx" is caught by "docker.io/*".""",
    remediation="Pull the image from a trusted registry instead (mirror it there first).",
    example="""
        # .kubeward.yaml: images: {denied-registries: ["docker.io/*"]}
        containers:
          - name: app
            image: registry.example.com/mirror/nginx:1.27.0
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1204.003"},
    tags=("images",),
)
def image_registry_denied(pod: PodSpec, config: Config) -> Iterator[Violation]:
    if not config.denied_registries:
        return
    for c, image, _ in _images(pod):
        glob = image_matches(image, config.denied_registries)
        if glob is not None:
            yield Violation(c.at("image"), f"container {c.name!r} image {image!r} matches denied registry {glob!r}", c.name)


@check(
    id="KW-I005",
    slug="image-pull-policy",
    title="Images not pinned by digest should be pulled with imagePullPolicy: Always",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""With IfNotPresent a node runs whatever image it cached under that tag: a stale
        build, or one planted on the node, and pods of one workload can differ from node to
        node. Always makes the kubelet resolve the tag with the registry (and check pull
        credentials) at every start; a digest makes the question moot.""",
    remediation="Pin the image by digest, or set imagePullPolicy: Always.",
    example="""
        containers:
          - name: app
            image: registry.example.com/app:1.4.2
            imagePullPolicy: Always
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1525"},
    tags=("images",),
)
def image_pull_policy(pod: PodSpec) -> Iterator[Violation]:
    for c, image, ref in _images(pod):
        policy, written = _pull_policy(c, ref)
        if ref.digest or policy in ("Always", "Never"):  # Never is KW-I007's finding
            continue
        how = "" if written else " (the default for a tagged image)"
        yield Violation(
            c.at("imagePullPolicy"), f"container {c.name!r} pulls {image!r} with imagePullPolicy {policy}{how}", c.name
        )


@check(
    id="KW-I006",
    slug="image-implicit-docker-hub",
    title="Image references should name their registry",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""A reference without a registry host ("nginx", "bitnami/redis") is resolved to
        Docker Hub, or to whatever mirror the node's runtime is configured with: which image runs
        depends on node configuration, and a name typed without its registry is the easy target
        of typosquatting.""",
    remediation="Write the full reference, e.g. docker.io/library/nginx:1.27.0 or your mirror's host.",
    example="""
        containers:
          - name: app
            image: docker.io/library/nginx:1.27.0
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1204.003"},
    tags=("images",),
)
def image_implicit_docker_hub(pod: PodSpec) -> Iterator[Violation]:
    for c, image, ref in _images(pod):
        if explicit_registry(ref.name) is None:
            yield Violation(
                c.at("image"), f"container {c.name!r} image {image!r} names no registry (implicitly docker.io)", c.name
            )


@check(
    id="KW-I007",
    slug="image-pull-policy-never",
    title="Containers should not use imagePullPolicy: Never",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Never runs only what is already in the node's image cache: the image was not
        pulled from a registry through its controls, pull credentials are never checked, and
        anything that can write to the node's cache decides what the container runs.""",
    remediation="Use imagePullPolicy: Always (or IfNotPresent with a digest) and pull from a registry.",
    example="""
        containers:
          - name: app
            image: registry.example.com/app:1.4.2@sha256:9b7c0a5f...
            imagePullPolicy: IfNotPresent
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1525"},
    tags=("images",),
)
def image_pull_policy_never(pod: PodSpec) -> Iterator[Violation]:
    for c, image, _ in _images(pod):
        if c.data.get("imagePullPolicy") == "Never":
            yield Violation(
                c.at("imagePullPolicy"), f"container {c.name!r} runs {image!r} from the node cache only (Never)", c.name
            )


@check(
    id="KW-I008",
    slug="image-floating-tag",
    title="Images should not use a floating channel tag",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Tags like stable, main, nightly or lts name a channel, not a release: like
        :latest they move under you, so what runs is not what was reviewed, and replicas can
        run different code.""",
    remediation="Use a release tag (e.g. 1.4.2), or better a digest.",
    example="""
        containers:
          - name: app
            image: registry.example.com/app:1.4.2
    """,
    refs={"cis": "5.5.1", "nsa": "pod-security/secure-images", "mitre": "T1525"},
    tags=("images",),
)
def image_floating_tag(pod: PodSpec) -> Iterator[Violation]:
    for c, image, ref in _images(pod):
        if ref.tag and not ref.digest and ref.tag.lower() in FLOATING_TAGS:
            yield Violation(c.at("image"), f"container {c.name!r} uses the floating tag {image!r}", c.name)
