/** PostgreSQL WAL positions: text form `X/Y` (two hex halves) ⇄ the 64-bit number Debezium puts in `source.lsn`. */

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): bigint {
  const m = LSN_TEXT.exec(text.trim());
  if (!m) throw new Error(`invalid PostgreSQL LSN '${text}' (expected e.g. 0/16B3748)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new Error(`LSN ${lsn} out of range`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
