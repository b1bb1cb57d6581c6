/**
 * A secret value that never prints itself: String(), template literals, JSON.stringify, console.log and
 * util.inspect all show `***`. The value comes out only through an explicit `.reveal()` (as text) or
 * `.revealBytes()` (a copy of the bytes). `.wipe()` overwrites the bytes held here.
 *
 * Limits, honestly: a JavaScript string cannot be wiped, so every `.reveal()` leaves a copy on the heap until the
 * garbage collector reuses it. Keep secrets as Secret objects for as long as possible and reveal them at the last
 * moment (the KDF call, the `net use` input).
 */
import { timingSafeEqual } from 'node:crypto';

const MASK = '***';

export class Secret {
  #bytes: Buffer;
  #wiped = false;

  /** Copies the value: wiping the Secret never touches the caller's buffer, and the caller's changes never reach it. */
  constructor(value: string | Uint8Array) {
    this.#bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  }

  static from(value: string | Uint8Array): Secret {
    return new Secret(value);
  }

  /** The secret as UTF-8 text. */
  reveal(): string {
    this.#assertUsable();
    return this.#bytes.toString('utf8');
  }

  /** A copy of the secret's bytes; the caller should `.fill(0)` it when done. */
  revealBytes(): Buffer {
    this.#assertUsable();
    return Buffer.from(this.#bytes);
  }

  /** Length in bytes (UTF-8). */
  get byteLength(): number {
    return this.#bytes.length;
  }

  get isEmpty(): boolean {
    return this.#bytes.length === 0;
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** Constant-time comparison with another secret. */
  equals(other: Secret): boolean {
    this.#assertUsable();
    const a = this.#bytes;
    const b = other.revealBytes();
    try {
      return a.length === b.length && timingSafeEqual(a, b);
    } finally {
      b.fill(0);
    }
  }

  /** Overwrites the bytes with zeros; afterwards reveal() throws. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#bytes = Buffer.alloc(0);
    this.#wiped = true;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  toLocaleString(): string {
    return MASK;
  }

  valueOf(): string {
    return MASK;
  }

  [Symbol.toPrimitive](): string {
    return MASK;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return MASK;
  }

  get [Symbol.toStringTag](): string {
    return 'Secret';
  }

  #assertUsable(): void {
    if (this.#wiped) throw new Error('this secret was wiped and cannot be used any more');
  }
}

