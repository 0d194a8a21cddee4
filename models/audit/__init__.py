"""The audit trail: append-only entries, sealed into a hash chain, verified and pruned."""
