/**
 * A WIM's bytes do not follow the format (damaged, truncated or hostile). Low-level decoders throw this without
 * knowing the file name; the engine's entry points turn it into an InputError naming the file (exit code 2).
 */
export class WimFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WimFormatError';
  }
}
