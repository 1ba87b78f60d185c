import type { NextFunction, Response } from 'express';
import { CohortDefinitionError } from '../cohort/index.js';
import { QueryTimeout } from './executor.js';

/**
 * A failed job as an HTTP answer: a bad cohort definition lists its issues; a job past the time limit
 * (or one that found every worker busy for that long) is a 503; other statuses the job gave (400,
 * 404, 422, 503) go out with their message; anything else is an internal error.
 */
export function sendJobFailure(res: Response, e: unknown, next: NextFunction): void {
  if (e instanceof CohortDefinitionError) return void res.status(400).json({ error: e.message, issues: e.issues });
  if (e instanceof QueryTimeout) return void res.status(503).set('Retry-After', '5').json({ error: e.message });
  const status = (e as { status?: number }).status;
  if (status && status >= 400 && status < 500) return void res.status(status).json({ error: (e as Error).message });
  if (status === 503) return void res.status(503).json({ error: (e as Error).message });
  next(e);
}
