-- Issue 8: rate limits. The operator's own per-number rate (segments per second; NULL: the policy
-- table's for the number's type), and how far ahead the number's rate-limited queue reaches (the
-- accept side refuses past the sender queue cap; written by dispatch when it defers for a limit).
ALTER TABLE numbers ADD COLUMN max_segments_per_second real CHECK (max_segments_per_second > 0);
ALTER TABLE numbers ADD COLUMN backlog_until timestamptz;

-- A brand's segments per US Pacific day, shared by every instance: Bottleneck has no counter that
-- resets at a wall-clock midnight in a zone, so this one is ours. `last_grant` is what the last
-- take got, computed in the same UPDATE (no read-then-write race).
CREATE TABLE brand_daily_usage (
  brand_id uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
  day date NOT NULL,
  segments integer NOT NULL,
  last_grant integer NOT NULL DEFAULT 0,
  PRIMARY KEY (brand_id, day)
);

-- Carrier answers that mean "over the limit" (0x58 throttled, AT&T 541, T-Mobile 542), per
-- campaign and day: a campaign hitting them is sending faster than its class allows.
CREATE TABLE campaign_over_limit (
  campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
  day date NOT NULL,
  errors integer NOT NULL DEFAULT 0,
  PRIMARY KEY (campaign_id, day)
);
