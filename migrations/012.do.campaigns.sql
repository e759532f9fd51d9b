-- Issue 8: 10DLC campaigns (one use case each, under an approved brand) and their numbers.
CREATE TABLE campaigns (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  brand_id uuid NOT NULL REFERENCES brands(id),
  details jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'suspended', 'expired')),
  registry_id text,
  rejection_reason text,
  submitted_at timestamptz,
  reviewed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_account_created ON campaigns(account_id, created_at DESC, id DESC);
CREATE INDEX campaigns_review ON campaigns(submitted_at) WHERE status IN ('submitted', 'approved');

ALTER TABLE numbers ADD COLUMN campaign_id uuid REFERENCES campaigns(id);
ALTER TABLE numbers ADD COLUMN campaign_status text
  CHECK (campaign_status IN ('pending_assignment', 'assigned', 'failed_assignment'));
