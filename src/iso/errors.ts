import { InputError } from '../errors.js';

/** The image is not valid ISO 9660 or is damaged/hostile. Always names the file and what is wrong. */
export class IsoFormatError extends InputError {}
