/**
 * A screen of several questions asked one after the other (a fixed IP address: address, mask, gateway, DNS). Esc on
 * a question goes back to the one before it, exactly one step; Esc on the first leaves the form (BACK).
 */
import { BACK, type Back } from './ui.js';

export interface FormField<K extends string> {
  key: K;
  ask(answers: Partial<Record<K, string>>): Promise<string | Back>;
}

export async function askForm<K extends string>(fields: readonly FormField<K>[]): Promise<Record<K, string> | Back> {
  const answers: Partial<Record<K, string>> = {};
  for (let i = 0; i < fields.length; ) {
    const field = fields[i]!;
    const answer = await field.ask(answers);
    if (answer === BACK) {
      if (i === 0) return BACK;
      delete answers[fields[--i]!.key];
      continue;
    }
    answers[field.key] = answer;
    i++;
  }
  return answers as Record<K, string>;
}
