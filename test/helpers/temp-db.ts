// A migrated database in a fresh temporary directory, closed and removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openDatabase } from '../../src/receiver/store/database.js';

export function openTempDatabase(t: TestContext, prefix: string): ReturnType<typeof openDatabase>['db'] {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const { db } = openDatabase(join(dir, 'hub.db'));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return db;
}
