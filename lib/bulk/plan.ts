/** Splitting a table into chunks that workers read in parallel: ctid page ranges, the last one open-ended. */

export interface PageRange {
  /** First heap page (inclusive). */
  from: number;
  /** Page after the range (exclusive); null = to the end of the table, so rows on pages added since planning are never missed. */
  to: number | null;
}

/** Smallest chunk worth a worker: about 8 MB of heap. */
export const MIN_PAGES_PER_CHUNK = 1024;

export function pageRanges(pages: number, maxChunks: number, minPagesPerChunk = MIN_PAGES_PER_CHUNK): PageRange[] {
  const chunks = Math.max(1, Math.min(maxChunks, Math.floor(pages / minPagesPerChunk)));
  if (chunks === 1) return [{ from: 0, to: null }];
  const size = Math.ceil(pages / chunks);
  const ranges: PageRange[] = [];
  for (let i = 0; i < chunks; i++) ranges.push({ from: i * size, to: i === chunks - 1 ? null : (i + 1) * size });
  return ranges;
}

/** The WHERE clause PostgreSQL answers with a TID range scan (PostgreSQL 14+). */
export function ctidPredicate(range: PageRange): string {
  if (range.from === 0 && range.to === null) return 'TRUE';
  const lower = `ctid >= '(${range.from},0)'::tid`;
  return range.to === null ? lower : `${lower} AND ctid < '(${range.to},0)'::tid`;
}
