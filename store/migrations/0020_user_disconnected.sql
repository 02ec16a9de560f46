-- POST /api/v1/users/{id}/disconnect left no trace in the store, so a node
-- whose Redis link was down when another node made it never heard of it (an
-- audit: the socket stayed open after the link came back, while removals and
-- deactivations made in the same window were caught by the node's re-check
-- of its sockets against the store). The disconnect's time, on the nodes'
-- cluster clock (Redis's, in ms), is now kept per user, and the re-check
-- closes the sockets opened before it.
ALTER TABLE users ADD COLUMN disconnected_ms bigint;
