"""The subcommands' click declarations, one module per area. Each imports only click at load time;
a command's body imports its implementation (kubeward.cli.<area>) when it runs."""
