-- Issue 7: one conversation per (account, contact) across all the account's numbers, kept by the
-- statement that stores an inbound message (so it is never behind what was stored) and by sends
-- in the thread.
CREATE TABLE conversations (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  contact_id uuid NOT NULL REFERENCES contacts(id),
  contact_e164 text NOT NULL,
  last_message_at timestamptz NOT NULL,
  last_direction text NOT NULL CHECK (last_direction IN ('inbound', 'outbound')),
  last_preview text NOT NULL,
  -- Our number the conversation last used (either way): the sticky sender.
  last_number text,
  unread_count integer NOT NULL DEFAULT 0,
  needs_review boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, contact_id)
);
CREATE INDEX conversations_recent ON conversations(account_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_unread ON conversations(account_id, last_message_at DESC, id DESC) WHERE unread_count > 0;

-- A thread's messages, both ways, newest first.
CREATE INDEX messages_account_to ON messages(account_id, to_e164, created_at DESC, id DESC);
CREATE INDEX inbound_messages_account_from ON inbound_messages(account_id, from_e164, received_at DESC, id DESC);
