import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Postgrator from 'postgrator';
import type { Db } from './db.ts';

/** migrations/ at the repository root, found from this module in src/store or from the bundle in dist/. */
function migrationsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../migrations', '../migrations']) {
    const dir = path.resolve(here, rel);
    if (existsSync(dir)) return dir;
  }
  throw new Error(`migrations/ not found near ${here}`);
}

const MIGRATIONS = migrationsDir();

/**
 * Brings the schema to the latest version with Postgrator (plain SQL files in migrations/).
 * Throws when a migration fails; main() stops rather than run against a half-migrated schema.
 */
export async function migrate(db: Db, schema?: string): Promise<number> {
  const postgrator = new Postgrator({
    migrationPattern: `${MIGRATIONS}/*`,
    driver: 'pg',
    schemaTable: schema ? `${schema}.schemaversion` : 'schemaversion',
    ...(schema ? { currentSchema: schema } : {}),
    execQuery: (query: string) => db.query(query),
    execSqlScript: (script: string) =>
      db.exec(schema ? `SET search_path = ${schema}, public;\n${script}` : script),
  });
  const applied = await postgrator.migrate();
  return applied.length;
}
