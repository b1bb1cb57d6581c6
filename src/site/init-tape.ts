/**
 * The answers of a `lifeboat init` session as a tape: the questionnaire is a plain function of its answers, so going
 * back one question (Esc) is "drop the last answer and ask again from the start, replaying the others without
 * showing them", and a draft (Ctrl-C, `init --resume`) is just the tape saved to a file. A replayed answer that no
 * longer passes its question's check (an edited draft, a newer Lifeboat) ends the replay there: it is asked again.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { InputError } from '../errors.js';

/** One answer as stored: numbers left empty are null. */
export type Answer = string | number | boolean | null;

/** Thrown by a prompter when the person presses Esc: go back one question. */
export class GoBack extends Error {
  constructor() {
    super('back one question');
  }
}

/** Thrown when the person interrupts (Ctrl-C); carries the answers so far, for a draft. */
export class InitInterrupted extends Error {
  constructor(readonly answers: readonly Answer[]) {
    super('lifeboat init was interrupted');
  }
}

/** Where the tape is: answers given, the replay position, and the answer to offer when a question is asked again. */
export class Tape {
  private pos = 0;
  private redo: { index: number; value: Answer } | undefined;

  constructor(readonly answers: Answer[] = []) {}

  /** Starts a pass from the first question. */
  rewind(): void {
    this.pos = 0;
  }

  /** Drops the last answer; the next pass asks that question again with it as the default. False at the start. */
  back(): boolean {
    if (this.answers.length === 0) return false;
    const value = this.answers.pop() as Answer;
    this.redo = { index: this.answers.length, value };
    return true;
  }

  /** True while answers are being replayed (nothing is shown). */
  get replaying(): boolean {
    return this.pos < this.answers.length;
  }

  /**
   * The next answer: replayed when `fits` accepts it, else asked with `ask(previous)`, where `previous` is the
   * answer being corrected after Esc (undefined otherwise).
   */
  async next<T extends Answer>(fits: (value: Answer) => boolean, ask: (previous: Answer | undefined) => Promise<T>): Promise<T> {
    if (this.pos < this.answers.length) {
      const value = this.answers[this.pos] as Answer;
      if (fits(value)) {
        this.pos++;
        return value as T;
      }
      this.answers.length = this.pos;
    }
    const previous = this.redo?.index === this.pos ? this.redo.value : undefined;
    const value = await ask(previous);
    if (this.redo?.index === this.pos) this.redo = undefined;
    this.answers.push(value);
    this.pos++;
    return value;
  }
}

const DRAFT_FORMAT = 'lifeboat-init-draft';
const MAX_DRAFT_BYTES = 1 << 20;
const MAX_ANSWERS = 5000;

/** The draft file kept beside the site file. */
export function draftPathFor(siteFile: string): string {
  return `${siteFile}.draft.json`;
}

/** Writes the answers (nothing secret: site.yaml holds no secrets) readable by the owner only. */
export async function saveDraft(file: string, answers: readonly Answer[]): Promise<void> {
  const text = `${JSON.stringify({ format: DRAFT_FORMAT, version: 1, savedAt: new Date().toISOString(), answers }, null, 1)}\n`;
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

/** Reads a draft; a missing, foreign or damaged file is an InputError naming it. */
export async function loadDraft(file: string): Promise<Answer[]> {
  let text: string;
  try {
    const buffer = await readFile(file);
    if (buffer.length > MAX_DRAFT_BYTES) throw new InputError(`${file} is not a lifeboat init draft (too large)`, 'Start again without --resume.');
    text = buffer.toString('utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`there is no draft to resume: ${file} does not exist`, 'Run lifeboat init without --resume (with the same --out as the interrupted run).');
    }
    throw new InputError(`cannot read the draft ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InputError(`${file} is not a lifeboat init draft (not JSON)`, 'Delete it and run lifeboat init again.');
  }
  const d = data as { format?: unknown; answers?: unknown };
  const ok = (a: unknown) => a === null || ['string', 'number', 'boolean'].includes(typeof a);
  if (d?.format !== DRAFT_FORMAT || !Array.isArray(d.answers) || d.answers.length > MAX_ANSWERS || !d.answers.every(ok)) {
    throw new InputError(`${file} is not a lifeboat init draft`, 'Delete it and run lifeboat init again.');
  }
  return d.answers as Answer[];
}

export async function removeDraft(file: string): Promise<void> {
  await rm(file, { force: true });
}
