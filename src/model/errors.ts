/** An error a user can act on: it names the file, the record and the field that are wrong. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly record?: string,
    readonly field?: string,
  ) {
    super(InputError.format(message, file, record, field));
    this.name = 'InputError';
  }

  static format(message: string, file?: string, record?: string, field?: string): string {
    const where = [file, record && `record ${record}`, field && `field ${field}`].filter(Boolean).join(', ');
    return where ? `${where}: ${message}` : message;
  }
}
