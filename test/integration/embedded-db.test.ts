import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComplianceRepo } from '../../src/store/compliance-repo.ts';
import { type Db, openDb } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-pglite-'));
let db: Db | undefined;
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the embedded database (PGlite)', () => {
  // Regression (issue 9 session): PGlite reports affectedRows 0 for a SELECT and the wrapper took
  // it as the row count, so every "does it exist" check read false on `npm start` without
  // DATABASE_URL: the dry-run said every recipient would get the first-message footer.
  it('counts rows like PostgreSQL: returned by a SELECT or RETURNING, changed otherwise', async () => {
    db = await openDb({ url: undefined, dataDir: dir });
    await migrate(db);
    expect((await db.query('SELECT 1 UNION ALL SELECT 2')).rowCount).toBe(2);
    expect((await db.query('SELECT 1 WHERE false')).rowCount).toBe(0);
    await db.query(
      "INSERT INTO accounts (id, name, webhook_secret) VALUES ('11111111-1111-4111-8111-111111111111', 'a', 's')",
    );
    expect((await db.query("UPDATE accounts SET name = 'b'")).rowCount).toBe(1);
    expect((await db.query("UPDATE accounts SET name = 'c' RETURNING id")).rowCount).toBe(1);
    const repo = new ComplianceRepo(db);
    const account = '11111111-1111-4111-8111-111111111111';
    expect(await repo.hasFirstMessage(account, '+14155550101')).toBe(false);
    await repo.claimFirstMessages([
      { accountId: account, to: '+14155550101', messageId: '01a23aea-505a-7068-9ab8-afd44f4aaac9' },
    ]);
    expect(await repo.hasFirstMessage(account, '+14155550101')).toBe(true);
  });
});
