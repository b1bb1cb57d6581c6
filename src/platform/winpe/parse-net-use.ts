/**
 * `net use` output in English:
 *   The command completed successfully.
 *   System error 53 has occurred.\n\nThe network path was not found.
 *   <message>\n\nMore help is available by typing NET HELPMSG 2250.
 * The code is what the assistant maps to plain words and a next step.
 */
import { splitLines, WinPeParseError } from './parse-error.js';

export type NetUseResult = { ok: true } | { ok: false; code: number; message: string };

export function parseNetUse(text: string): NetUseResult {
  const lines = splitLines(text).map((line) => line.trim());
  const nonEmpty = lines.filter((line) => line !== '');
  for (let i = 0; i < lines.length; i++) {
    const system = /^System error (\d+) has occurred\.$/.exec(lines[i]!);
    if (system) {
      const message = lines.slice(i + 1).find((line) => line !== '') ?? '';
      return { ok: false, code: Number(system[1]), message };
    }
  }
  const helpmsg = lines.findIndex((line) => /^More help is available by typing NET HELPMSG \d+\.$/.test(line));
  if (helpmsg !== -1) {
    const code = Number(/(\d+)\.$/.exec(lines[helpmsg]!)![1]);
    const message = lines.slice(0, helpmsg).filter((line) => line !== '').join(' ');
    return { ok: false, code, message };
  }
  if (nonEmpty.includes('The command completed successfully.')) return { ok: true };
  throw new WinPeParseError(
    'net use',
    '"The command completed successfully." or "System error N has occurred."',
    WinPeParseError.excerptOf(text),
  );
}

/** The codes of `net use` failures the restore assistant explains (research: boot-media.md). */
export const NET_USE_ERRORS = {
  ACCESS_DENIED: 5,
  BAD_NET_PATH: 53,
  BAD_NET_NAME: 67,
  ALREADY_ASSIGNED: 85,
  INVALID_PASSWORD: 86,
  SESSION_CREDENTIAL_CONFLICT: 1219,
  NETWORK_UNREACHABLE: 1231,
  LOGON_FAILURE: 1326,
  GUEST_ACCESS_BLOCKED: 1272,
  NET_USE_NOT_FOUND: 2250,
} as const;
