-- Issue 8: 10DLC brands (the Campaign Registry's terms) and their review.
CREATE TABLE brands (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  details jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'rejected')),
  registry_id text,
  rejection_reason text,
  identity_status text,
  vetting_score smallint,
  throughput_class text,
  submitted_at timestamptz,
  reviewed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX brands_account_created ON brands(account_id, created_at DESC, id DESC);
CREATE INDEX brands_submitted ON brands(submitted_at) WHERE status = 'submitted';
