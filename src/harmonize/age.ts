/** ISO 8601 duration (`P6Y3M`, `P2W`, `P10D`) to decimal years, as the graph stores ages for range queries. */
export function durationToYears(iso: string): number | undefined {
  const m = iso.match(/^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T.*)?$/);
  if (!m || iso === 'P') return undefined;
  const [y, mo, w, d] = m.slice(1).map((x) => (x ? Number(x) : 0));
  return Math.round((y + mo / 12 + (w * 7 + d) / 365.25) * 10000) / 10000;
}

/** Gestational age in weeks and days to (negative) years before birth at term, 40 weeks. */
export function gestationalToYears(weeks: number, days = 0): number {
  return Math.round(((weeks * 7 + days - 280) / 365.25) * 10000) / 10000;
}
