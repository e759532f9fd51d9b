import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Postgrator from 'postgrator';
import type { Db } from './db.ts';

const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

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
