/**
 * The session log: every step, choice and tool result with a time stamp, secrets removed. Kept in memory and
 * mirrored to the scratch folder as it goes (X:\ in Windows PE), so a crash still leaves it; copied to the share at
 * the end.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Secret } from '../secrets/secret.js';
import { redact } from '../secrets/redact.js';

export class SessionLog {
  readonly lines: string[] = [];
  private readonly secrets: Secret[] = [];
  /** Where the log is mirrored; undefined when no folder could be written (the log then lives in memory only). */
  readonly file: string | undefined;

  constructor(dir: string, private readonly now: () => Date, stamp: string) {
    // X:\ exists in Windows PE; started elsewhere (a PC, Wine) the log falls back to the temp folder.
    for (const candidate of [dir, join(tmpdir(), 'lifeboat-logs')]) {
      try {
        mkdirSync(candidate, { recursive: true });
        this.file = join(candidate, `lifeboat-session-${stamp}.log`);
        break;
      } catch {
        // try the next place
      }
    }
  }

  /** Secrets to keep out of the log from now on. */
  protect(secret: Secret): void {
    this.secrets.push(secret);
  }

  write(text: string): void {
    const clean = this.secrets.length ? redact(text, this.secrets) : text;
    for (const line of clean.split(/\r?\n/)) {
      const entry = `${this.now().toISOString()} ${line}`;
      this.lines.push(entry);
      try {
        if (this.file) appendFileSync(this.file, `${entry}\n`);
      } catch {
        // The scratch disk being full must not stop a restore: the log stays in memory.
      }
    }
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
