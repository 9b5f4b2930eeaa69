/**
 * What a change event's schema means for the Iceberg table: columns to add, safe type promotions
 * Iceberg allows (int→long, float→double, decimal precision widening), columns the source dropped
 * (kept, written as NULL), and incompatible changes that stop the table until someone decides.
 */
export interface IcebergColumnType { name: string; type: string }
export interface EventColumnType { name: string; type: string; sourceType: string }

export interface SchemaPlan {
  add: EventColumnType[];
  widen: { name: string; from: string; to: string }[];
  dropped: string[];
  incompatible: { name: string; from: string; to: string }[];
}

const normalise = (t: string) => t.replace(/\s/g, '').toLowerCase();

export function canPromote(from: string, to: string): boolean {
  const a = normalise(from);
  const b = normalise(to);
  if (a === b) return true;
  if (a === 'int' && b === 'long') return true;
  if (a === 'float' && b === 'double') return true;
  const da = /^decimal\((\d+),(\d+)\)$/.exec(a);
  const db = /^decimal\((\d+),(\d+)\)$/.exec(b);
  return Boolean(da && db && da[2] === db[2] && Number(db[1]) >= Number(da[1]));
}

export function planSchemaChange(iceberg: IcebergColumnType[], event: EventColumnType[]): SchemaPlan {
  const current = new Map(iceberg.map((c) => [c.name, c]));
  const incoming = new Set(event.map((c) => c.name));
  const plan: SchemaPlan = { add: [], widen: [], dropped: [], incompatible: [] };
  for (const col of event) {
    const existing = current.get(col.name);
    if (!existing) plan.add.push(col);
    else if (normalise(existing.type) !== normalise(col.type)) {
      if (canPromote(existing.type, col.type)) plan.widen.push({ name: col.name, from: existing.type, to: col.type });
      // a narrower source type still fits the wider Iceberg column: nothing to do
      else if (!canPromote(col.type, existing.type)) plan.incompatible.push({ name: col.name, from: existing.type, to: col.type });
    }
  }
  for (const c of iceberg) if (!incoming.has(c.name)) plan.dropped.push(c.name);
  return plan;
}

export function planIsEmpty(plan: SchemaPlan): boolean {
  return plan.add.length + plan.widen.length + plan.dropped.length + plan.incompatible.length === 0;
}
