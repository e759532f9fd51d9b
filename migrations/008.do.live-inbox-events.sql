-- Issue 7: the live inbox's event log. Each account's events are numbered 1, 2, 3… by a counter
-- row that the writing transaction holds until it commits, so an account's events commit in the
-- order of their numbers: a reader that has seen n has seen everything before n (Last-Event-ID).

CREATE TABLE account_event_seq (
  account_id uuid PRIMARY KEY,
  seq bigint NOT NULL
);

CREATE TABLE account_events (
  account_id uuid NOT NULL,
  seq bigint NOT NULL,
  type text NOT NULL CHECK (type IN ('message.inbound', 'message.status', 'conversation.updated',
                                     'contact.opted_out', 'contact.opted_in')),
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, seq)
);
CREATE INDEX account_events_created ON account_events(created_at);

-- Status events are kept for messages to contacts with a conversation (found by number).
CREATE INDEX conversations_contact_e164 ON conversations(account_id, contact_e164);
