/**
 * The ISO library's errors. They carry no exit code and speak only of images, trees and files: the application
 * decides what they mean for its user (Lifeboat's CLI maps them to exit code 2). Failures to read or write a file
 * are `IoError`s (src/util/io-errors.ts), shared with the other image writers.
 */
import { HintedError } from '../util/hinted-error.js';

export { IoError, type IoProblem } from '../util/io-errors.js';

/** Every error about images and trees; `hint` says what the caller's user can do about it. */
export abstract class IsoError extends HintedError {}

/** The image is not valid ISO 9660, or is damaged or hostile. The message names the file and what is wrong. */
export class IsoFormatError extends IsoError {}

/** What was asked cannot be written: a bad image path, a clash of names, a host file that cannot go in an image. */
export class IsoRequestError extends IsoError {}
