/** An error with an optional hint: what the person can do about it, in one sentence. Named after its class. */
export class HintedError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
