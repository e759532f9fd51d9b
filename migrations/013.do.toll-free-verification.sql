-- Issue 8: toll-free verification, one request per toll-free number.
CREATE TABLE toll_free_verifications (
  number_id uuid PRIMARY KEY REFERENCES numbers(id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES accounts(id),
  details jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'in_review', 'verified', 'rejected')),
  registry_id text,
  rejection_reason text,
  submitted_at timestamptz,
  reviewed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX toll_free_in_review ON toll_free_verifications(submitted_at) WHERE status = 'in_review';
