-- Issue 7: inbound messages POSTed to the platform, persisted and retried like status callbacks
-- (queued by the statement that stores the MO, so none is lost between storing and queueing).
CREATE TABLE account_webhooks (
  account_id uuid PRIMARY KEY REFERENCES accounts(id),
  inbound_url text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
