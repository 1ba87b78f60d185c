/** A query that cannot be prepared or run; `status` is the HTTP status the server answers with. */
export class QueryError extends Error {
  constructor(message: string, readonly status = 400) {
    super(message);
  }
}
