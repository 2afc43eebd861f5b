"""ndelab.annotation.sync: the shared PostgreSQL: push and pull, conflicts, credentials and
the server's roles. Offline first: the audit log is the outbox."""
