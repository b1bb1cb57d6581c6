/** Whether files can be created in a folder: creates and removes a probe file (a share's ACLs live on the NAS). */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function canCreateFilesIn(dir: string): Promise<boolean> {
  const probe = join(dir, `.lifeboat-write-test-${process.pid}`);
  try {
    await writeFile(probe, 'lifeboat');
    await rm(probe, { force: true });
    return true;
  } catch {
    return false;
  }
}
