-- Issue 6: receipts stored before they are acknowledged (parking in the database), receipt
-- timeout, persistent MO reassembly, rejected PDUs kept for operators, API key ids for revocation,
-- per-carrier encoding profiles on segments.

-- 'unknown' is final (rank 3) like every status not listed; kept explicit here for readers.
CREATE OR REPLACE FUNCTION parley_status_rank(s text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE s
    WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 0
    WHEN 'sending' THEN 1
    WHEN 'sent' THEN 2
    ELSE 3 END::smallint
$$;

ALTER TABLE api_keys ADD COLUMN id uuid;
UPDATE api_keys SET id = gen_random_uuid() WHERE id IS NULL;
ALTER TABLE api_keys ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX api_keys_id ON api_keys(id);
ALTER TABLE api_keys ADD COLUMN name text;

-- The encoding profile (carrier settings) a segment's payload was made with; dispatch re-encodes
-- for a carrier whose profile differs.
ALTER TABLE segments ADD COLUMN profile text NOT NULL DEFAULT '';
-- Receipt timeout sweep: sent segments by submit time.
CREATE INDEX segments_sent ON segments(submitted_at) WHERE status = 'sent';

-- A receipt whose SMSC id is not stored yet waits here, one row per key it may be stored under
-- (receipt_id groups them). It is acknowledged to the SMSC only once this row is committed.
CREATE TABLE parked_receipts (
  receipt_id uuid NOT NULL,
  rank smallint NOT NULL,
  carrier_id text NOT NULL,
  id_key text NOT NULL,
  smsc_id text NOT NULL,
  status text NOT NULL,
  error_code text,
  reason text,
  parked_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  unmatched_at timestamptz,
  PRIMARY KEY (receipt_id, rank)
);
CREATE INDEX parked_receipts_key ON parked_receipts(id_key, carrier_id) WHERE unmatched_at IS NULL;
CREATE INDEX parked_receipts_waiting ON parked_receipts(parked_at) WHERE unmatched_at IS NULL;
CREATE INDEX parked_receipts_expiry ON parked_receipts(expires_at) WHERE unmatched_at IS NULL;
CREATE INDEX parked_receipts_unmatched ON parked_receipts(unmatched_at) WHERE unmatched_at IS NOT NULL;

-- Concatenated MO: parts are committed before the SMSC is answered and joined from here, so a
-- crash loses nothing and parts arriving at different instances still meet.
CREATE TABLE mo_groups (
  from_e164 text NOT NULL,
  to_e164 text NOT NULL,
  ref integer NOT NULL,
  total smallint NOT NULL,
  carrier_id text NOT NULL,
  received smallint NOT NULL,
  first_at timestamptz NOT NULL DEFAULT now(),
  deadline timestamptz NOT NULL,
  -- Set when the message was delivered: the row stays until `deadline` as a tombstone, so that a
  -- part the SMSC sends again (our answer was lost) is recognised by its hash and not taken for
  -- the start of a new message.
  completed_at timestamptz,
  part_hashes text[],
  PRIMARY KEY (from_e164, to_e164, ref, total)
);
CREATE INDEX mo_groups_deadline ON mo_groups(deadline);

CREATE TABLE mo_parts (
  from_e164 text NOT NULL,
  to_e164 text NOT NULL,
  ref integer NOT NULL,
  total smallint NOT NULL,
  seq smallint NOT NULL,
  data_coding smallint NOT NULL,
  body text NOT NULL,
  raw bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_e164, to_e164, ref, total, seq)
);

-- The octets as received (text with U+0000 is stored with it replaced; the bytes stay exact).
ALTER TABLE inbound_messages ADD COLUMN raw bytea;
ALTER TABLE inbound_messages ADD COLUMN data_coding smallint;
CREATE INDEX inbound_messages_unattributed ON inbound_messages(received_at) WHERE account_id IS NULL;

-- PDUs from an SMSC that we answered with an error (malformed body): kept for the operator.
CREATE TABLE rejected_pdus (
  id bigserial PRIMARY KEY,
  carrier_id text NOT NULL,
  bind_id text NOT NULL,
  command_id bigint NOT NULL,
  sequence_number bigint NOT NULL,
  answered_status integer NOT NULL,
  reason text NOT NULL,
  pdu bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejected_pdus_received ON rejected_pdus(received_at);

-- Each message is updated three times (sending, sent, final) soon after its insert. Room on its
-- page lets those be HOT updates (no index entries); at fillfactor 80 fewer than half were.
ALTER TABLE messages SET (fillfactor = 50);
