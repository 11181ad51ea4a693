"""The `kubeward` command. Subcommands import what they need when they run,
so `kubeward --help` stays fast."""

from __future__ import annotations

import sys

import click

from .. import __version__

SEVERITIES = ("info", "low", "medium", "high", "critical")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kubeward", message="%(prog)s %(version)s")
def cli() -> None:
    """Check Kubernetes manifests and clusters against security best practices."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "sarif", "junit"]),
    default="table",
    show_default=True,
    help="Report format.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write the report to FILE instead of stdout."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: the nearest .kubeward.yaml above the first path).",
)
@click.option("--no-config", is_flag=True, help="Ignore .kubeward.yaml files.")
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
    help="Exit 1 when a finding has this severity or higher (default: low).",
)
@click.option("-c", "--check", "only", multiple=True, metavar="ID", help="Run only these checks (id, slug or tag); repeatable.")
@click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (id, slug or tag); repeatable.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings in the table too.")
@click.option(
    "--framework",
    type=click.Choice(["cis", "nsa", "mitre", "pss"]),
    help="Group results by this framework's controls, with a coverage and score table (table and json formats).",
)
@click.option("--kubernetes-version", metavar="v1.N", help="Target cluster version for deprecated and removed API checks.")
@click.option(
    "--values",
    "helm_values",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Values file for Helm charts; repeatable.",
)
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    metavar="MiB",
    help="Refuse input files larger than this.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Worker processes; 0 = one per CPU for large inputs.",
)
@click.option("--color/--no-color", default=None, help="Colour the table (default: when stdout is a terminal).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
def scan(**options):
    """Scan manifests: files, directories, '-' for stdin, Helm charts and Kustomize dirs.

    Exit status: 0 when no finding reaches --fail-on, 1 when one does,
    2 on usage, configuration or input errors.
    """
    from .scan import run_scan

    sys.exit(run_scan(**options))


@cli.command("pss")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--level",
    type=click.Choice(["baseline", "restricted"]),
    default="restricted",
    show_default=True,
    help="Level to check against.",
)
@click.option(
    "--version", "version", default="latest", show_default=True, metavar="v1.N|latest", help="Pod Security policy version."
)
@click.option("--namespaces", is_flag=True, help="Only the namespace report: labels, what can be enforced, labels to apply.")
@click.option(
    "--pss-config",
    type=click.Path(exists=True, dir_okay=False),
    help="PodSecurityConfiguration (or AdmissionConfiguration) file.",
)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def pss_command(**options):
    """Pod Security Standards: the strictest level each workload satisfies, its
    violations of --level, what its namespace's Pod Security labels would do, and
    per namespace, what can be enforced and the labels to apply.

    Exit status: 0 all pass, 1 a workload violates --level or its namespace's
    enforce level, 2 input error.
    """
    from .pss import run_pss

    sys.exit(run_pss(**options))


def _rbac_options(fn):
    fn = click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")(fn)
    fn = click.option(
        "--include-system", is_flag=True, help="Show platform-default subjects (control plane, bootstrap bindings) too."
    )(fn)
    return click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)(fn)


@cli.group()
def rbac():
    """Who can do what: effective RBAC permissions, risky grants and escalation paths.

    Subjects are written user:NAME, group:NAME, or system:serviceaccount:NAMESPACE:NAME
    (also sa:NAMESPACE/NAME). Paths are files, directories or '-' as for `scan`.
    """


@rbac.command("who-can")
@click.argument("verb")
@click.argument("resource")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-n", "--namespace", help="Namespace of the request (default: cluster-wide, ClusterRoleBindings only).")
@click.option("--name", help="Name of the object (resourceNames).")
@_rbac_options
def rbac_who_can(**options):
    """Subjects allowed VERB on RESOURCE: pods, pods/exec, deployments.apps, '*', or a URL like /metrics."""
    from .rbac import run_who_can

    sys.exit(run_who_can(**options))


@rbac.command("can")
@click.argument("subject")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-n", "--namespace", help="Only grants that apply in this namespace.")
@_rbac_options
def rbac_can(**options):
    """Effective permissions of SUBJECT, per binding, its built-in groups included."""
    from .rbac import run_can

    sys.exit(run_can(**options))


@rbac.command("risks")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@_rbac_options
def rbac_risks(**options):
    """Risky grants, ranked (exit 1 when there is one)."""
    from .rbac import run_risks

    sys.exit(run_risks(**options))


@rbac.command("paths")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--max-depth", type=click.IntRange(min=1, max=8), default=4, show_default=True, help="Longest chain searched.")
@_rbac_options
def rbac_paths(**options):
    """Privilege-escalation chains to cluster-admin, shortest first (exit 1 when there is one)."""
    from .rbac import run_paths

    sys.exit(run_paths(**options))


@cli.group("netpol")
def netpol_group():
    """NetworkPolicies: who can reach whom (`matrix`), and why (`explain`)."""


@netpol_group.command("matrix")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "dot"]), default="table", show_default=True)
@click.option(
    "--port", metavar="PORT", help="Only connections allowed on this port (number, or a name resolved on the destination)."
)
@click.option("--protocol", type=click.Choice(["TCP", "UDP", "SCTP"]), default="TCP", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def netpol_matrix(**options):
    """Which workloads (and ipBlock CIDRs) can reach which, on which ports.

    `*` stands for any pod not isolated in that direction, in the inputs or not.
    Exit status: 0, or 2 on input errors.
    """
    from .netpol import run_matrix

    sys.exit(run_matrix(**options))


@netpol_group.command("explain")
@click.argument("src")
@click.argument("dst")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--port", metavar="PORT", help="Port number or name (resolved on the destination); default: which ports.")
@click.option("--protocol", type=click.Choice(["TCP", "UDP", "SCTP"]), default="TCP", show_default=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def netpol_explain(**options):
    """Can SRC connect to DST, and which policies allow or block it?

    SRC and DST are workloads as namespace/name (or namespace/Kind/name), or an IP
    address / CIDR for one end. Exit status: 0 allowed, 1 blocked, 2 input error.
    """
    from .netpol import run_explain

    sys.exit(run_explain(**options))


@cli.group(invoke_without_command=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.pass_context
def checks(ctx, fmt):
    """List the check catalogue; `checks explain ID` describes one check."""
    if ctx.invoked_subcommand is None:
        from .checks import list_checks

        click.echo(list_checks(fmt), nl=False)


@checks.command()
@click.argument("name")
def explain(name):
    """Title, rationale, remediation and references of one check (id or slug)."""
    from .checks import explain_check

    text = explain_check(name)
    if text is None:
        raise click.UsageError(f"no check is named {name!r}; run 'kubeward checks' for the list")
    click.echo(text)


@cli.command()
def version():
    """Print the version."""
    click.echo(f"kubeward {__version__}")


@cli.command("probe")
@click.argument("hosts", nargs=-1, metavar="HOST...")
@click.option(
    "-p",
    "--ports",
    multiple=True,
    metavar="PORT[:SERVICE],...",
    help="Ports to probe (default 6443,10250,10255,2379); SERVICE is apiserver, kubelet, kubelet-readonly, etcd or "
    "dashboard, needed for ports other than 6443, 443, 8443, 10250, 10255, 2379, 9090. Repeatable.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=3.0,
    show_default=True,
    metavar="SECONDS",
    help="Connect and read timeout per request (a whole request is capped at 3x).",
)
@click.option("--concurrency", type=click.IntRange(1, 32), default=8, show_default=True, help="Targets probed at once.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
    default="medium",
    show_default=True,
    help="Exit 1 when a finding has this severity or higher.",
)
def probe_command(**options):
    """Exposure probes: what an unauthenticated client can reach on API servers,
    kubelets (10250, read-only 10255), etcd (2379) and the Dashboard.

    Only the HOSTs named (hostnames or IP addresses; at most 16, no CIDRs or
    ranges); only unauthenticated, read-only requests; certificates are
    recorded, not verified. Exit status: 0 nothing exposed, 1 a finding at
    --fail-on or above, 2 usage error.
    """
    from .probe import run_probe

    sys.exit(run_probe(**options))


def _report_options(fn):
    """The report options `cluster` shares with `scan` (same names, same meaning)."""
    options = [
        click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr."),
        click.option("--color/--no-color", default=None, help="Colour the table (default: when stdout is a terminal)."),
        click.option(
            "--kubernetes-version", metavar="v1.N", help="Target version for API deprecation checks (default: the server's)."
        ),
        click.option(
            "--framework", type=click.Choice(["cis", "nsa", "mitre", "pss"]), help="Group results by this framework's controls."
        ),
        click.option("--show-suppressed", is_flag=True, help="List suppressed findings in the table too."),
        click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (id, slug or tag); repeatable."),
        click.option(
            "-c", "--check", "only", multiple=True, metavar="ID", help="Run only these checks (id, slug or tag); repeatable."
        ),
        click.option(
            "--fail-on",
            type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
            help="Exit 1 when a finding has this severity or higher (default: low).",
        ),
        click.option("--no-config", is_flag=True, help="Ignore .kubeward.yaml files."),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="Configuration file (default: the nearest .kubeward.yaml).",
        ),
        click.option(
            "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write the report to FILE instead of stdout."
        ),
        click.option(
            "-f",
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "sarif", "junit"]),
            default="table",
            show_default=True,
            help="Report format.",
        ),
    ]
    for option in options:
        fn = option(fn)
    return fn


@cli.command("cluster")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)."
)
@click.option("--context", help="Kubeconfig context (default: the current one).")
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Only these namespaces (and no cluster-scoped kinds); repeatable.",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace and cluster-scoped kind (the default).")
@click.option("-l", "--selector", metavar="SELECTOR", help="Only objects with these labels (a label selector, as kubectl -l).")
@click.option(
    "--include-kinds", multiple=True, metavar="KINDS", help="Only these kinds (Kind, plural or plural.group; comma-separated)."
)
@click.option("--exclude-kinds", multiple=True, metavar="KINDS", help="Not these kinds (e.g. Event,Lease; comma-separated).")
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write the objects to a snapshot (.json or .json.gz) for `kubeward scan`.",
)
@click.option(
    "--chunk-size", type=click.IntRange(min=1), default=500, show_default=True, help="Objects per list request (limit)."
)
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=8, show_default=True, help="Lists running at once.")
@click.option("--qps", type=click.FloatRange(min=0), default=50.0, show_default=True, help="Requests per second (0: no limit).")
@click.option("--burst", type=click.IntRange(min=1), default=100, show_default=True, help="Requests allowed at once above --qps.")
@click.option("--request-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
@_report_options
def cluster_command(**options):
    """Scan a live cluster: every manifest check on every object, plus cluster-only checks.

    Lists every resource the API offers (Secrets as metadata only: values are never
    read). Exit status as for `scan`: 0, 1 when a finding reaches --fail-on, 2 on
    errors (no kubeconfig, server unreachable, credentials refused).
    """
    from .cluster import run_cluster

    sys.exit(run_cluster(**options))


@cli.group("generate")
def generate_group():
    """Generate Kubernetes objects kubeward needs."""


@generate_group.command("scanner-rbac")
@click.option(
    "--name", default="kubeward-scanner", show_default=True, help="Name of the ClusterRole, binding and ServiceAccount."
)
@click.option("--namespace", default="kubeward", show_default=True, help="Namespace of the ServiceAccount.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def generate_scanner_rbac(**options):
    """The read-only ClusterRole, ClusterRoleBinding and ServiceAccount `kubeward cluster` needs."""
    from .cluster import run_scanner_rbac

    sys.exit(run_scanner_rbac(**options))


@cli.group("admission")
def admission_group():
    """Admission webhook: the scan checks enforced when objects are created or updated."""


@admission_group.command("serve")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Policy file (reloaded on change; default: built-in)."
)
@click.option("--tls-cert", required=True, type=click.Path(dir_okay=False), help="Serving certificate (PEM; reloaded on change).")
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Private key (PEM).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--namespace", help="The webhook's own namespace, never evaluated (default: $POD_NAMESPACE).")
@click.option("--reload-interval", type=click.FloatRange(0.05, 60), default=1.0, show_default=True, metavar="SECONDS")
@click.option(
    "--shutdown-grace",
    type=click.FloatRange(0, 600),
    default=25.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, how long requests in flight may take.",
)
@click.option(
    "--shutdown-delay",
    type=click.FloatRange(0, 120),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, keep serving (readyz failing) this long before closing the listener.",
)
@click.option("--request-timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True, metavar="SECONDS")
@click.option("--idle-timeout", type=click.FloatRange(0.1, 3600), default=120.0, show_default=True, metavar="SECONDS")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
def admission_serve(**options):
    """Serve /validate and /mutate over HTTPS (TLS 1.2+), with /healthz, /readyz and /metrics."""
    from .admission import run_serve

    sys.exit(run_serve(**options))


@admission_group.command("install")
@click.option("-n", "--namespace", default="kubeward-system", show_default=True, help="Namespace to deploy into.")
@click.option("--failure-policy", type=click.Choice(["Fail", "Ignore"]), default="Fail", show_default=True)
@click.option("--cert-manager", is_flag=True, help="Let cert-manager issue the certificate and inject the CA bundle.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False), help="Policy file (default: built-in).")
@click.option("--image", help="Webhook image (pin it: REF@sha256:DIGEST).")
@click.option("--api-server-cidr", multiple=True, metavar="CIDR", help="Addresses of the API server, for the NetworkPolicy.")
@click.option("--replicas", type=click.IntRange(min=2), default=2, show_default=True)
@click.option("--timeout-seconds", type=click.IntRange(1, 30), default=5, show_default=True, help="Webhook timeoutSeconds.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def admission_install(**options):
    """Print the manifests that deploy the webhook (pipe them to kubectl apply -f -)."""
    from .admission import run_install

    sys.exit(run_install(**options))


@admission_group.command("test")
@click.argument("policy_path", type=click.Path(dir_okay=False), metavar="POLICY")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True), metavar="MANIFESTS...")
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of objects that name none.")
@click.option("--user", help="Requesting user (for user exemptions).")
@click.option("--group", "groups", multiple=True, help="Requesting user's groups; repeatable.")
@click.option("--mutate", is_flag=True, help="Apply /mutate's patch first, then validate the result.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def admission_test(**options):
    """Evaluate manifests as the webhook would on CREATE, offline (for CI).

    Exit status: 0 all admitted, 1 an object would be denied, 2 input error.
    """
    from .admission import run_test

    sys.exit(run_test(**options))


@cli.group("node", invoke_without_command=True)
@click.option("--root", type=click.Path(file_okay=False), help="The node's filesystem (e.g. /host in a pod; a copy offline).")
@click.option("--manifests-dir", type=click.Path(exists=True, file_okay=False), help="Static pod manifests directory.")
@click.option("--proc", type=click.Path(exists=True, file_okay=False), help="A /proc to read (default: /proc with --root /).")
@click.option("--no-systemd", is_flag=True, help="Do not read systemd units.")
@click.option("--apiserver-cmd", metavar="CMDLINE", help="The kube-apiserver command line (or just its flags).")
@click.option("--controller-manager-cmd", metavar="CMDLINE", help="The kube-controller-manager command line.")
@click.option("--scheduler-cmd", metavar="CMDLINE", help="The kube-scheduler command line.")
@click.option("--etcd-cmd", metavar="CMDLINE", help="The etcd command line.")
@click.option("--kubelet-cmd", metavar="CMDLINE", help="The kubelet command line.")
@click.option("--kubelet-config", type=click.Path(exists=True, dir_okay=False), help="KubeletConfiguration file (its --config).")
@click.option("--kubelet-config-dir", type=click.Path(exists=True, file_okay=False), help="The kubelet's --config-dir drop-ins.")
@click.option("--encryption-config", type=click.Path(exists=True, dir_okay=False), help="EncryptionConfiguration file to judge.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "sarif", "junit"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write the report to FILE.")
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
    default="low",
    show_default=True,
    help="Exit 1 when a failed check has this severity or higher.",
)
@click.option("--color/--no-color", default=None, help="Colour the table (default: when stdout is a terminal).")
@click.pass_context
def node_group(ctx, **options):
    """CIS Kubernetes Benchmark (v1.12) checks on the EFFECTIVE configuration of the API server,
    controller manager, scheduler, etcd and kubelet: flags parsed as the components parse them,
    kubelet config file + drop-ins + flags + built-in defaults, each value with its source.

    Discovery: static pod manifests, /proc, systemd units, or files and command lines given.
    Exit status: 0, 1 when a check at --fail-on or above fails, 2 on errors.
    """
    if ctx.invoked_subcommand is None:
        from .node import run_node

        sys.exit(run_node(**options))


@node_group.command("etcd-encryption")
@click.option("--endpoint", required=True, help="etcd client URL, e.g. https://127.0.0.1:2379.")
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False), help="CA of etcd's serving certificate.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Client certificate (etcd --client-cert-auth).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Client key.")
@click.option("--prefix", default="/registry/secrets/", show_default=True, help="Key prefix to read.")
@click.option("--encryption-config", type=click.Path(exists=True, dir_okay=False), help="Also judge this config.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True, metavar="SECONDS")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def node_etcd_encryption(**options):
    """Which Secrets etcd stores without the k8s:enc: prefix (plain text). Key names only: no
    value is ever printed. Exit status: 0 all encrypted, 1 some are plain, 2 error."""
    from .node import run_etcd_encryption

    sys.exit(run_etcd_encryption(**options))


@generate_group.command("encryption-config")
@click.option("--provider", type=click.Choice(["secretbox", "aescbc"]), default="secretbox", show_default=True)
@click.option("--resource", "resources", multiple=True, metavar="RESOURCE", help="Resources to encrypt (default: secrets).")
@click.option("--key-name", help="Name of the key (default: key-YYYYMMDD).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write to FILE (mode 600).")
def generate_encryption_config(**options):
    """An EncryptionConfiguration with a fresh 32-byte key and the key rotation procedure."""
    from .node import run_generate_encryption_config

    sys.exit(run_generate_encryption_config(**options))


@generate_group.command("node-job")
@click.option("--kind", type=click.Choice(["Job", "DaemonSet"]), default="Job", show_default=True)
@click.option("--namespace", default="kubeward", show_default=True)
@click.option("--image", default="ghcr.io/kubeward/kubeward:0.1.0", show_default=True, help="kubeward image (pin a digest).")
@click.option("--node", help="Run on this node (Job; default: wherever it is scheduled).")
@click.option("--no-control-plane", "control_plane", flag_value=False, default=True, help="Do not tolerate control-plane taints.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def generate_node_job(**options):
    """A Job (or DaemonSet) running `kubeward node` on a node: hostPID, read-only host mounts
    (see docs/node.md for why it needs the privileged Pod Security level)."""
    from .node import run_generate_node_job

    sys.exit(run_generate_node_job(**options))


@cli.group("audit")
def audit_group():
    """Audit logs: detect attacks, receive the webhook backend, write and check policies, least-privilege RBAC."""


def _audit_config_options(fn):
    fn = click.option("--no-config", is_flag=True, help="Ignore .kubeward.yaml files.")(fn)
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), help="Configuration file (its `audit:` section)."
    )(fn)


@audit_group.command("scan")
@click.argument("logs", nargs=-1, type=click.Path(allow_dash=True), metavar="LOG...")
@click.option("--since", metavar="TIME", help="Only events at or after TIME (RFC 3339, or a duration back from now: 15m, 2h).")
@click.option("--until", metavar="TIME", help="Only events at or before TIME.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "jsonl", "json"]), default="table", show_default=True)
@click.option("--follow", is_flag=True, help="Keep reading the files as they grow, across rotation (Ctrl-C stops).")
@_audit_config_options
def audit_scan(**options):
    """Run the detection rules over audit logs (JSON lines, .gz, EventList JSON; - = stdin).

    Exit status: 0 no alerts, 1 alerts, 2 usage or input error.
    """
    from .audit import run_scan

    sys.exit(run_scan(**options))


@audit_group.command("serve")
@click.option("--tls-cert", required=True, type=click.Path(dir_okay=False), help="Serving certificate (PEM).")
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Private key (PEM).")
@click.option("--spool-dir", required=True, type=click.Path(file_okay=False), help="Spool, checkpoint and alerts.jsonl.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--client-ca", type=click.Path(dir_okay=False), help="Require API server client certificates signed by this CA.")
@click.option("--token-file", type=click.Path(dir_okay=False), help="Require this bearer token (file holds the token).")
@click.option("--alert-webhook", metavar="URL", help="Also POST alerts (JSON) to this URL.")
@click.option("--spool-file-mb", type=click.IntRange(1, 65536), default=256, show_default=True, help="Spool file rotation size.")
@click.option("--spool-keep", type=click.IntRange(0, 10000), default=8, show_default=True, help="Analysed spool files kept.")
@click.option("--max-lag", type=click.IntRange(1), default=1_000_000, show_default=True, help="429 at this event backlog.")
@click.option("--no-stdout", is_flag=True, help="Do not print alerts on stdout (they are in SPOOL/alerts.jsonl).")
@_audit_config_options
def audit_serve(**options):
    """Receive the API server's audit webhook backend over HTTPS: spool durably (fsync before 200), analyse, alert.

    Alerts go to SPOOL/alerts.jsonl (exactly once), stdout (JSON lines) and --alert-webhook.
    GET /metrics (Prometheus), /healthz, /readyz.
    """
    from .audit import run_serve

    sys.exit(run_serve(**options))


@audit_group.group("policy")
def audit_policy_group():
    """Write and check audit policies (audit.k8s.io/v1 Policy)."""


@audit_policy_group.command("generate")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write to FILE instead of stdout.")
def audit_policy_generate(**options):
    """Print the recommended audit policy (for kube-apiserver --audit-policy-file)."""
    from .audit import run_policy_generate

    sys.exit(run_policy_generate(**options))


@audit_policy_group.command("check")
@click.argument("policy_file", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def audit_policy_check(**options):
    """Flag secret bodies logged, RBAC/webhook changes missed, exec unlogged, shadowed rules.

    Exit status: 0 no issues, 1 issues, 2 unreadable or not a Policy.
    """
    from .audit import run_policy_check

    sys.exit(run_policy_check(**options))


@audit_group.command("rbac")
@click.argument("logs", nargs=-1, type=click.Path(allow_dash=True), metavar="LOG...")
@click.option("--user", metavar="NAME", help="The user (impersonated requests count for the impersonated user).")
@click.option("--serviceaccount", metavar="NS/NAME", help="The service account.")
@click.option("--inventory", multiple=True, type=click.Path(exists=True), help="Manifests or cluster snapshot: unused grants.")
@click.option("--name", help="Name of the generated roles and bindings (default: NAME-least-privilege).")
@click.option("--max-names", type=click.IntRange(0, 100), default=5, show_default=True, help="Max resourceNames kept.")
@click.option("--since", metavar="TIME", help="Only events at or after TIME.")
@click.option("--until", metavar="TIME", help="Only events at or before TIME.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def audit_rbac(**options):
    """The minimal Role/ClusterRole and bindings covering what a subject did, from audit logs.

    With --inventory, also the permissions it holds but never used, risky ones first.
    """
    from .audit import run_rbac

    sys.exit(run_rbac(**options))


def main() -> None:
    cli(prog_name="kubeward")
