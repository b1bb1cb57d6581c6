/**
 * The error every Windows PE output parser throws when a tool printed something it does not recognise (another
 * display language, a new Windows build, a truncated capture). Parsers never guess: a wrong disk size or a wrong
 * disk number is worse than a clear stop, so they name the tool, what they expected and the first lines they saw.
 */
import { JobError } from '../../errors.js';

export class WinPeParseError extends JobError {
  constructor(
    /** The tool and command whose output was not understood, e.g. `diskpart list disk`. */
    readonly tool: string,
    /** What was expected and not found. */
    readonly expected: string,
    /** The start of the output, for the session log. */
    readonly excerpt: string,
  ) {
    super(
      `could not read the output of ${tool}: ${expected}`,
      'Windows PE must run in English (en-US) for the restore assistant to read its tools; the session log holds the output that was not understood.',
    );
  }

  static excerptOf(text: string, lines = 6): string {
    return text
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, lines)
      .join('\n');
  }
}

/** Splits tool output into lines, whatever the line endings (CRLF from Windows tools, LF in captured fixtures). */
export function splitLines(text: string): string[] {
  return text.replace(/\r\n?/g, '\n').split('\n');
}
