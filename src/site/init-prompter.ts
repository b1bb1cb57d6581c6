/**
 * How `lifeboat init` asks: a small Prompter interface (tests drive it with scripted answers) and the terminal one,
 * @inquirer/prompts with Esc added: Esc aborts the question on screen and the questionnaire goes back one question.
 */
import { emitKeypressEvents } from 'node:readline';
import { GoBack } from './init-tape.js';

type Validate<T> = (value: T) => true | string;

export interface Choice<T extends string> {
  name: string;
  value: T;
  description?: string;
}

/** The four kinds of question the questionnaire asks. A prompter throws GoBack when the person asks to go back. */
export interface Prompter {
  input(question: { message: string; default?: string; validate?: Validate<string> }): Promise<string>;
  number(question: {
    message: string;
    default?: number;
    min?: number;
    max?: number;
    required?: boolean;
    validate?: Validate<number | undefined>;
  }): Promise<number | undefined>;
  select<T extends string>(question: { message: string; choices: readonly Choice<T>[]; default?: T }): Promise<T>;
  confirm(question: { message: string; default?: boolean }): Promise<boolean>;
}

/** Runs one inquirer question; Esc (a bare escape key, not the start of an arrow key) ends it with GoBack. */
async function withEsc<T>(ask: (context: { signal: AbortSignal }) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  emitKeypressEvents(process.stdin);
  const onKey = (_: unknown, key: { name?: string } | undefined) => {
    if (key?.name === 'escape') controller.abort();
  };
  process.stdin.on('keypress', onKey);
  try {
    return await ask({ signal: controller.signal });
  } catch (e) {
    if (controller.signal.aborted) throw new GoBack();
    throw e;
  } finally {
    process.stdin.removeListener('keypress', onKey);
  }
}

/** Loaded on first use: only `init` needs it, and it is not small. */
const inquirer = () => import('@inquirer/prompts');

/** The interactive prompter (a terminal is needed). */
export const inquirerPrompter: Prompter = {
  input: async (q) => {
    const { input } = await inquirer();
    return withEsc((ctx) => input({ message: q.message, default: q.default, validate: q.validate }, ctx));
  },
  number: async (q) => {
    const { number } = await inquirer();
    return withEsc((ctx) =>
      number(
        { message: q.message, default: q.default, min: q.min, max: q.max, step: 'any', required: q.required ?? false, validate: q.validate },
        ctx,
      ),
    );
  },
  select: async <T extends string>(q: { message: string; choices: readonly Choice<T>[]; default?: T }) => {
    const { select } = await inquirer();
    return withEsc((ctx) => select<T>({ message: q.message, choices: [...q.choices], default: q.default }, ctx));
  },
  confirm: async (q) => {
    const { confirm } = await inquirer();
    return withEsc((ctx) => confirm({ message: q.message, default: q.default }, ctx));
  },
};
