-- Issue 7 (first part): contacts, consent (opt-out / opt-in) with its audit log, compliance
-- replies that pass an opt-out, and account compliance settings.

CREATE TABLE contacts (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  e164 text NOT NULL,
  name text,
  time_zone text,
  -- Do-Not-Disturb: the contact revoked consent; nothing but compliance replies goes to them
  -- from any number of the account.
  dnd boolean NOT NULL DEFAULT false,
  dnd_source text,
  dnd_changed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, e164)
);
CREATE INDEX contacts_account_created ON contacts(account_id, created_at DESC, id DESC);

-- Every consent change, as it happened; one per inbound message at most (a redelivered or
-- twice-handled STOP changes nothing twice).
CREATE TABLE consent_events (
  id bigserial PRIMARY KEY,
  account_id uuid NOT NULL,
  contact_id uuid NOT NULL REFERENCES contacts(id),
  action text NOT NULL CHECK (action IN ('opt_out', 'opt_in')),
  source text NOT NULL CHECK (source IN ('keyword', 'phrase', 'api', 'import')),
  keyword text,
  raw_text text,
  number text,
  inbound_message_id uuid UNIQUE,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consent_events_contact ON consent_events(contact_id, id);

-- Replies the gateway itself sends for compliance (opt-out/opt-in confirmations, HELP): they go
-- to a contact who is now DND. One per inbound message.
CREATE TABLE compliance_replies (
  message_id uuid PRIMARY KEY,
  inbound_message_id uuid UNIQUE,
  kind text NOT NULL CHECK (kind IN ('opt_out', 'opt_in', 'help')),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account_compliance (
  account_id uuid PRIMARY KEY REFERENCES accounts(id),
  settings jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Inbound messages whose consent meaning was handled (or found to have none); the sweep takes
-- those an instance stored and did not get to (it stopped in between).
ALTER TABLE inbound_messages ADD COLUMN handled_at timestamptz;
ALTER TABLE inbound_messages ADD COLUMN needs_review boolean NOT NULL DEFAULT false;
CREATE INDEX inbound_messages_unhandled ON inbound_messages(received_at)
  WHERE handled_at IS NULL AND account_id IS NOT NULL;
