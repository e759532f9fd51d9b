-- Parley system of record. Statuses carry a rank so that updates never move them backwards.
CREATE FUNCTION parley_status_rank(s text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE s
    WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 0
    WHEN 'sending' THEN 1
    WHEN 'sent' THEN 2
    ELSE 3 END::smallint
$$;

CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  webhook_secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  key_hash text PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE numbers (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  e164 text NOT NULL UNIQUE,
  type text NOT NULL CHECK (type IN ('local', 'toll_free', 'short_code', 'mobile')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX numbers_account ON numbers(account_id, created_at);

CREATE TABLE messages (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  from_e164 text NOT NULL,
  to_e164 text NOT NULL,
  number_type text NOT NULL,
  body text NOT NULL,
  encoding text NOT NULL,
  segments smallint NOT NULL,
  status text NOT NULL,
  status_rank smallint NOT NULL,
  reason text,
  error_code text,
  status_callback text,
  metadata jsonb,
  send_at timestamptz,
  expires_at timestamptz NOT NULL,
  idempotency_key text,
  request_hash text,
  possible_duplicate boolean NOT NULL DEFAULT false,
  callback_seq integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Status history: each status is reached at most once and never left backwards, so one
  -- timestamp per stage is the whole history (queued/scheduled at created_at).
  sending_at timestamptz,
  sent_at timestamptz,
  final_at timestamptz
) WITH (fillfactor = 80);
CREATE UNIQUE INDEX messages_idempotency ON messages(account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_account_created ON messages(account_id, created_at DESC, id DESC);

-- One row per SMS segment: the unit of dispatch, submit result and receipt.
CREATE TABLE segments (
  message_id uuid NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx smallint NOT NULL,
  -- how many segments the message has: single-part messages roll up without aggregating
  parts smallint NOT NULL,
  status text NOT NULL,
  status_rank smallint NOT NULL,
  from_e164 text NOT NULL,
  to_e164 text NOT NULL,
  number_type text NOT NULL,
  payload bytea NOT NULL,
  data_coding smallint NOT NULL,
  esm_class smallint NOT NULL,
  use_payload_tlv boolean NOT NULL DEFAULT false,
  next_attempt_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  attempts smallint NOT NULL DEFAULT 0,
  resends smallint NOT NULL DEFAULT 0,
  possible_duplicate boolean NOT NULL DEFAULT false,
  lease_owner text,
  lease_until timestamptz,
  carrier_id text,
  smsc_id text,
  command_status integer,
  error_code text,
  reason text,
  submitted_at timestamptz,
  done_at timestamptz,
  PRIMARY KEY (message_id, idx)
) WITH (fillfactor = 80);
CREATE INDEX segments_due ON segments(next_attempt_at) WHERE status IN ('queued', 'scheduled');
CREATE INDEX segments_leased ON segments(lease_until) WHERE status = 'sending';

-- Every rendering key of an SMSC message id (see messageIdKeys), so receipts match by equality.
CREATE TABLE segment_smsc_ids (
  carrier_id text NOT NULL,
  id_key text NOT NULL,
  message_id uuid NOT NULL,
  idx smallint NOT NULL,
  PRIMARY KEY (id_key, carrier_id)
);

CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  message_id uuid NOT NULL,
  account_id uuid NOT NULL,
  url text NOT NULL,
  seq integer NOT NULL,
  body text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz,
  delivered_at timestamptz,
  failed_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE inbound_messages (
  id uuid PRIMARY KEY,
  account_id uuid REFERENCES accounts(id),
  from_e164 text NOT NULL,
  to_e164 text NOT NULL,
  body text NOT NULL,
  segments smallint NOT NULL,
  complete boolean NOT NULL,
  carrier_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbound_messages_account ON inbound_messages(account_id, received_at DESC);
