/**
 * Which source table a Debezium topic carries. Debezium names topics `<prefix>.<schema>.<table>` after
 * replacing every character Kafka refuses by `_` (`données` → `donn_es`, `my schema` → `my_schema`),
 * and names may hold dots themselves, so a topic cannot be split back into a table: it is predicted
 * from the known tables, and confirmed by the `source` block of the events it carries.
 */
import { tableOfTopic } from './table-state.js';

/** Kafka's legal topic characters, as Debezium's TopicNamingStrategy tests them (per UTF-16 unit). */
function validTopicChar(code: number): boolean {
  return code === 0x2e || code === 0x5f || code === 0x2d
    || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39);
}

const MAX_TOPIC_LENGTH = 249;

/** Debezium's sanitised form of a topic name: invalid characters → `_`, at most 249 characters. */
export function sanitizeTopicName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) out += validTopicChar(name.charCodeAt(i)) ? name[i] : '_';
  return out.length > MAX_TOPIC_LENGTH ? out.slice(0, MAX_TOPIC_LENGTH) : out;
}

/** The topic Debezium's default naming strategy writes a table's changes to (`table` is `schema.table`). */
export function debeziumTopic(prefix: string, table: string): string {
  return sanitizeTopicName(`${prefix}.${table}`);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Topics that may carry tables of these schemas (new tables included): `<prefix>.<sanitised schema>.<anything>`. */
export function sourceTopicPattern(prefix: string, schemas: readonly string[]): RegExp {
  const alternatives = schemas.map((s) => escapeRegExp(sanitizeTopicName(s))).join('|');
  return new RegExp(`^${escapeRegExp(sanitizeTopicName(prefix))}\\.(${alternatives})\\..+$`);
}

/** topic → `schema.table`, from the tables we know and from what events have shown. */
export class TopicRouter {
  private readonly tables = new Map<string, string>();
  private readonly collisions = new Map<string, Set<string>>();

  constructor(private readonly prefix: string) {}

  /** A known `schema.table`, on the topic it was seen on (stored offsets) or else the one Debezium will name. */
  register(qualified: string, seenTopic?: string | null): void {
    const topic = seenTopic ?? debeziumTopic(this.prefix, qualified);
    const previous = this.tables.get(topic);
    if (previous !== undefined && previous !== qualified) {
      const names = this.collisions.get(topic) ?? new Set([previous]);
      names.add(qualified);
      this.collisions.set(topic, names);
    }
    this.tables.set(topic, qualified);
  }

  /** An event's source block names its table: that is the truth for its topic from now on. */
  learn(topic: string, table: string): void {
    if (this.collisions.has(topic)) return;
    this.tables.set(topic, table);
  }

  tableOf(topic: string): string | null {
    return this.tables.get(topic) ?? tableOfTopic(topic, this.prefix);
  }

  /** Topics that two tables map to (their names differ only in characters Kafka refuses). */
  sharedTopics(): Map<string, string[]> {
    return new Map([...this.collisions].map(([t, names]) => [t, [...names].sort()]));
  }
}
