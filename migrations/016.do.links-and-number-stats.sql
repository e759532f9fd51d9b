-- Issue 9: short links for click tracking, and per-number delivery figures kept as rollups.

-- One row per message and URL. The code is the primary key: the redirector's only look-up.
CREATE TABLE links (
  code text PRIMARY KEY,
  message_id uuid NOT NULL,
  account_id uuid NOT NULL,
  from_e164 text NOT NULL,
  url text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  clicks integer NOT NULL DEFAULT 0,
  bot_hits integer NOT NULL DEFAULT 0,
  first_click_at timestamptz,
  last_click_at timestamptz
);
CREATE INDEX links_message ON links (message_id);

-- Each counted (human) click: when, and what kind of client.
CREATE TABLE link_clicks (
  id bigserial PRIMARY KEY,
  code text NOT NULL,
  message_id uuid NOT NULL,
  at timestamptz NOT NULL,
  agent text NOT NULL
);
CREATE INDEX link_clicks_message ON link_clicks (message_id, at);

-- Per number and hour: sent, delivered, failed:<class>, segments, clicks, unique_clicks.
CREATE TABLE number_stats (
  account_id uuid NOT NULL,
  from_e164 text NOT NULL,
  bucket timestamptz NOT NULL,
  metric text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (account_id, from_e164, bucket, metric)
);
-- What status writes and clicks add, in their own transactions (append-only: no hot row is
-- locked by the send path); folded into number_stats in the background, read together with it.
CREATE TABLE number_stat_deltas (
  account_id uuid NOT NULL,
  from_e164 text NOT NULL,
  bucket timestamptz NOT NULL,
  metric text NOT NULL,
  n bigint NOT NULL
);

-- A click on a tracked link is a live-inbox event too.
ALTER TABLE account_events DROP CONSTRAINT account_events_type_check;
ALTER TABLE account_events ADD CONSTRAINT account_events_type_check
  CHECK (type IN ('message.inbound', 'message.status', 'conversation.updated', 'contact.opted_out',
                  'contact.opted_in', 'message.clicked'));
