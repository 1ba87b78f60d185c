import type { NextFunction, Request, Response } from 'express';
import type { ServerContext } from './context.js';

/** Latency buckets in seconds, from a cached ASK to a query near the default time limit. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Request counters and latency histograms by route, in memory, written out in the Prometheus text
 * exposition format (version 0.0.4) by /metrics.
 */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();

  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `route="${esc(route)}",method="${method}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  /** The exposition text; `extra` holds gauges and counters owned by others (workers, store). */
  render(extra: { name: string; help: string; type: 'gauge' | 'counter'; samples: [string, number][] }[]): string {
    const out: string[] = [];
    out.push('# HELP harmonia_http_requests_total HTTP requests answered, by route, method and status.');
    out.push('# TYPE harmonia_http_requests_total counter');
    for (const [labels, n] of this.requests) out.push(`harmonia_http_requests_total{${labels}} ${n}`);
    out.push('# HELP harmonia_http_request_duration_seconds Time to answer a request, by route.');
    out.push('# TYPE harmonia_http_request_duration_seconds histogram');
    for (const [route, h] of this.latency) {
      const r = `route="${esc(route)}"`;
      BUCKETS.forEach((b, i) => out.push(`harmonia_http_request_duration_seconds_bucket{${r},le="${b}"} ${h.counts[i]}`));
      out.push(`harmonia_http_request_duration_seconds_bucket{${r},le="+Inf"} ${h.count}`);
      out.push(`harmonia_http_request_duration_seconds_sum{${r}} ${h.sum}`);
      out.push(`harmonia_http_request_duration_seconds_count{${r}} ${h.count}`);
    }
    for (const m of extra) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
      for (const [labels, v] of m.samples) out.push(`${m.name}${labels ? `{${labels}}` : ''} ${v}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The route pattern a request matched (`/cohorts/:name`), so that labels stay few; `unmatched` for 404s. */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

/**
 * Times every request; on finish, records it in the metrics and (unless quiet) writes one JSON line
 * to stderr: time, method, path, status, ms, rows (when the route knows), bytes; the query text
 * only at debug level, since queries can hold identifiers.
 */
export function accessLog(ctx: ServerContext, metrics: Metrics, write: (line: string) => void = (l) => void process.stderr.write(l)) {
  const level = ctx.config.logLevel ?? 'quiet';
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      metrics.observe(routeOf(req), req.method, res.statusCode, seconds);
      if (level === 'quiet') return;
      const line: Record<string, unknown> = {
        time: new Date().toISOString(), method: req.method, path: req.path, status: res.statusCode,
        ms: Math.round(seconds * 10000) / 10, bytes: Number(res.getHeader('content-length') ?? 0),
      };
      if (res.locals.rows !== undefined) line.rows = res.locals.rows;
      if (level === 'debug' && res.locals.query !== undefined) line.query = res.locals.query;
      write(`${JSON.stringify(line)}\n`);
    });
    next();
  };
}
