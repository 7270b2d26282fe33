// How durable a Redis acknowledgement is: read `appendonly` and `appendfsync` when the
// store connects and say, once, when an acknowledged task could be lost. Tidepool warns
// and carries on (the operator owns the server); docs/stores.md says what to set:
//   appendonly yes + appendfsync always   nothing acknowledged is lost (fsync per write)
//   appendonly yes + appendfsync everysec a power loss or OS crash loses up to ~1 s of writes
//   appendonly yes + appendfsync no       the OS flushes when it likes (~30 s on Linux)
//   appendonly no                         a restart loses every write since the last RDB
//                                         snapshot (all of them when `save` is empty)

export interface RedisPersistence {
  appendonly: string | null;
  appendfsync: string | null;
  save: string | null;
}

/** The warning to print for these settings, or null when acknowledged tasks are safe. */
export function durabilityWarning(p: RedisPersistence, where: string): string | null {
  const fix = 'for no loss set `appendonly yes` and `appendfsync always` (CONFIG SET or redis.conf; see docs/stores.md)';
  if (p.appendonly === null) {
    return `Redis store ${where}: could not read appendonly/appendfsync (CONFIG GET refused), so an acknowledged task may be lost if Redis restarts; ${fix}`;
  }
  if (p.appendonly !== 'yes') {
    const snapshots = p.save ? `only RDB snapshots (save "${p.save}")` : 'no persistence at all (appendonly no, save "")';
    return `Redis store ${where}: the server runs with ${snapshots}: an acknowledged task is lost when Redis restarts; ${fix}`;
  }
  if (p.appendfsync === 'everysec') {
    return `Redis store ${where}: appendfsync everysec: a power loss or OS crash can lose up to about 1 s of acknowledged tasks; ${fix}`;
  }
  if (p.appendfsync !== 'always') {
    return `Redis store ${where}: appendfsync ${p.appendfsync ?? 'unknown'}: the OS decides when writes reach the disk, so a power loss can lose acknowledged tasks; ${fix}`;
  }
  return null;
}
