/** Thrown by a command to end with a given exit code and an optional message (no stack trace). */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}
