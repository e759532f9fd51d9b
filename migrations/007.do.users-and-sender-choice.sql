-- Issue 7: team members, default numbers and the sender rule (assigned → sticky → user → account).

CREATE TABLE users (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id),
  name text NOT NULL,
  email text,
  -- One of the account's numbers (E.164); ignored when the number leaves the account.
  default_number text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_account_created ON users(account_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX users_account_email ON users(account_id, lower(email)) WHERE email IS NOT NULL;

-- The number a send without `from` falls back to; an account's first number becomes it.
ALTER TABLE accounts ADD COLUMN default_number text;
UPDATE accounts a SET default_number = (
  SELECT n.e164 FROM numbers n WHERE n.account_id = a.id ORDER BY n.created_at, n.e164 LIMIT 1);

-- A contact may be pinned to one of the account's numbers.
ALTER TABLE contacts ADD COLUMN assigned_number text;

-- The number the contact last texted (sticky sender); last_number follows both directions.
ALTER TABLE conversations ADD COLUMN contact_last_texted text;
UPDATE conversations SET contact_last_texted = last_number WHERE last_direction = 'inbound';
