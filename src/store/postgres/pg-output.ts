// Command output on PostgreSQL lives in `output_chunks` (see CORE-012): every controller appends
// there and any machine reads it back, so `logs`, the dashboard and retention need no shared
// filesystem. Reads take a byte range, so a large output is never loaded whole.
import type pg from 'pg';

export async function appendOutput(db: pg.ClientBase, commandId: string, data: Uint8Array): Promise<void> {
  await db.query('INSERT INTO output_chunks (command_id, data) VALUES ($1, $2)', [commandId, Buffer.from(data)]);
}

export async function outputSize(db: pg.ClientBase, commandId: string): Promise<number> {
  const { rows } = await db.query<{ size: number }>(
    'SELECT coalesce(sum(octet_length(data)), 0)::bigint AS size FROM output_chunks WHERE command_id = $1',
    [commandId],
  );
  return rows[0]!.size;
}

/** Bytes [start, end) of the command's output, from the chunks that overlap the range. */
export async function readOutput(db: pg.ClientBase, commandId: string, start: number, end: number): Promise<Buffer> {
  const { rows } = await db.query<{ off: number; data: Buffer }>(
    `SELECT off, data FROM (
       SELECT seq, data, (sum(octet_length(data)) OVER (ORDER BY seq) - octet_length(data))::bigint AS off
       FROM output_chunks WHERE command_id = $1
     ) chunks WHERE off + octet_length(data) > $2 AND off < $3 ORDER BY seq`,
    [commandId, start, end],
  );
  const parts = rows.map((row) => row.data.subarray(Math.max(0, start - row.off), Math.max(0, end - row.off)));
  return Buffer.concat(parts);
}
