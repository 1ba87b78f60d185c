import { readFileSync } from 'node:fs';

/** Timing helpers shared by the benchmarks: percentiles over repeated runs and peak memory. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export async function timeRuns(runs: number, fn: () => unknown | Promise<unknown>): Promise<{ p50: number; p95: number; runs: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: round(percentile(times, 50)), p95: round(percentile(times, 95)), runs };
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Peak resident set size of this process so far, in MiB (Linux reports it in KiB). */
export function peakRssMiB(): number {
  return round(process.resourceUsage().maxRSS / 1024, 0);
}

/**
 * Peak (VmHWM) and current (VmRSS) resident memory of another process, in MiB, from /proc; undefined
 * once it has exited. Worker threads share their process's memory, so this covers them too.
 */
export function processMemoryMiB(pid: number): { peak: number; now: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { peak: round(kib('VmHWM') / 1024, 0), now: round(kib('VmRSS') / 1024, 0) };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system, all threads) another process has used so far, from /proc; NaN once it has exited. */
export function processCpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are the 12th and 13th, in clock ticks.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds the whole machine has been busy so far (every process, ours and others'), from the
 * first line of /proc/stat: user, nice, system, irq, softirq and steal, not idle and iowait.
 */
export function machineBusySeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
