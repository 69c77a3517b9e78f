// `clickhouse://[user:password@]host:port/database` for the read side (the write side has its own
// parser in store-url.ts; the two are to be merged). `clickhouses://` speaks HTTPS.
export interface ClickHouseTarget {
  /** http(s)://host:port */
  url: string;
  username: string;
  password: string;
  database: string;
}

const DATABASE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a store URL; throws a one-line Error naming what is wrong. */
export function parseClickHouseReadUrl(text: string): ClickHouseTarget {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`not a ClickHouse URL: ${JSON.stringify(text)} (clickhouse://[user:password@]host:port/database)`);
  }
  if (u.protocol !== 'clickhouse:' && u.protocol !== 'clickhouses:') {
    throw new Error(`not a ClickHouse URL: ${JSON.stringify(text)} (clickhouse://[user:password@]host:port/database)`);
  }
  if (u.hostname === '') throw new Error(`ClickHouse URL without a host: ${JSON.stringify(text)}`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'default';
  // The database name is part of the SQL text (an identifier): only plain names.
  if (!DATABASE.test(database)) throw new Error(`ClickHouse database name must match ${DATABASE}, got ${JSON.stringify(database)}`);
  const scheme = u.protocol === 'clickhouses:' ? 'https' : 'http';
  const port = u.port || '8123';
  return {
    url: `${scheme}://${u.hostname}:${port}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database,
  };
}
