"""The gateway's pure domain: rules and defaults that import no I/O library."""
