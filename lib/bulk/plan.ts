/**
 * Splitting a table into chunks that workers read in parallel: ctid page ranges, the last one
 * open-ended, per physical relation (a partitioned table is read leaf by leaf).
 */
import { quoteIdent } from '../lakehouse/sql.js';

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

/** A physical relation to read (see PgRelation): heap tables split into ctid ranges, others read whole. */
export interface ChunkSource {
  schema: string;
  name: string;
  pages: number;
  heap: boolean;
}

/**
 * The chunks of a table stored in `relations`: each heap relation split by its own pages into at most
 * `maxChunks` ctid ranges (an empty one still gets one chunk: pages are an estimate), others whole.
 */
export function planChunks(relations: ChunkSource[], maxChunks: number): { relation: ChunkSource; range: PageRange }[] {
  return relations.flatMap((relation) => (relation.heap ? pageRanges(relation.pages, maxChunks) : [{ from: 0, to: null }]).map((range) => ({ relation, range })));
}

/** One `SELECT <selectList> FROM <relation> WHERE <range>` per chunk. */
export function chunkSelects(selectList: string, relations: ChunkSource[], maxChunks: number): string[] {
  return planChunks(relations, maxChunks).map(({ relation, range }) =>
    `SELECT ${selectList} FROM ${quoteIdent(relation.schema)}.${quoteIdent(relation.name)} WHERE ${ctidPredicate(range)}`);
}
