/**
 * Redis connections of the job queue (`--queue redis://...`). The URL may carry a password
 * (`redis://:secret@host:6379`, `redis://user:secret@host`) and TLS (`rediss://`); the password is
 * handed to ioredis as an option and never written anywhere: everything the runner prints, logs
 * or tags names the queue by `describeQueue` (no user info), and error messages pass `redact`.
 */
import { CascadeError } from '@cascade-lab/core';
import type { RedisOptions } from 'ioredis';

/** Environment variable read when `--queue` is not given (lets a password come from a secret). */
export const QUEUE_ENV = 'CASCADE_QUEUE_URL';

export interface QueueTarget {
  /** ioredis options: host, port, db, username/password, TLS; reconnects forever. */
  connection: RedisOptions;
  /** The URL without its credentials (`redis://host:6379/0`): safe to print and to tag. */
  display: string;
  /** Secrets in the URL (password, user name): `redact` removes them from any text. */
  secrets: string[];
}

/**
 * Parses a queue URL. Accepts `redis://[[user]:password@]host[:port][/db]` and `rediss://` (TLS,
 * certificate checked against the system CAs; `?insecure=1` skips the check, for self-signed
 * test servers only).
 */
export function parseQueueUrl(url: string): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Never echo the text: it may be a URL with a password and a typo.
    throw new CascadeError('USAGE', 'the queue URL is not a valid URL (expected redis://[:password@]host[:port][/db] or rediss://...)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new CascadeError('USAGE', `the queue URL must start with redis:// or rediss://, got ${u.protocol}//`);
  if (!u.hostname) throw new CascadeError('USAGE', 'the queue URL names no host');
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText && !/^\d+$/.test(dbText)) throw new CascadeError('USAGE', `the queue URL's database must be a number (redis://host:port/<db>), got "${dbText}"`);
  const db = dbText ? Number(dbText) : 0;
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const tls = u.protocol === 'rediss:';
  const insecure = u.searchParams.get('insecure') === '1';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const connection: RedisOptions = {
    host,
    port,
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(tls ? { tls: insecure ? { rejectUnauthorized: false } : {} } : {}),
    // BullMQ workers block on Redis: commands wait for a reconnect instead of failing (a Redis
    // restart mid-sweep must not lose anything), and reconnection never gives up.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
  const display = `${u.protocol}//${u.hostname}:${port}${db ? `/${db}` : ''}`;
  const secrets = [...new Set([password, u.password].filter((s) => s.length > 0))];
  return { connection, display, secrets };
}

/** The queue URL from `--queue` or CASCADE_QUEUE_URL; undefined when neither is set. */
export function queueUrlFrom(option: string | undefined): string | undefined {
  return option ?? (process.env[QUEUE_ENV] || undefined);
}

/** Removes the target's secrets (and any `scheme://user:pass@` user info) from a text. */
export function redact(text: string, target?: Pick<QueueTarget, 'secrets'>): string {
  let out = text.replace(/(rediss?:\/\/)[^@/\s]*@/g, '$1***@');
  for (const s of target?.secrets ?? []) if (s) out = out.split(s).join('***');
  return out;
}

/**
 * Connects once and pings, failing fast (a wrong password, nobody listening) with a message that
 * names the queue without its credentials; BullMQ's own clients would retry forever instead.
 */
export async function checkQueue(target: QueueTarget, timeoutMs = 10_000): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ ...target.connection, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  // The first error says why (WRONGPASS, ECONNREFUSED); later ones only that the connection closed.
  let first: Error | undefined;
  client.on('error', (e: Error) => (first ??= e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new CascadeError('USAGE', `cannot use the queue ${target.display}: ${redact((first ?? (e as Error)).message, target)}`, {
      hint: 'check the host, the port and the password (redis://:password@host:port), and that redis-server is running',
    });
  } finally {
    client.disconnect();
  }
}

/**
 * The queue of a command's `--queue` option (`""` = $CASCADE_QUEUE_URL), checked with a ping;
 * undefined when the option is absent (the command runs locally, whatever the environment says).
 */
export async function queueFromOption(option: string | undefined): Promise<QueueTarget | undefined> {
  if (option === undefined) return undefined;
  const url = queueUrlFrom(option || undefined);
  if (!url) throw new CascadeError('USAGE', `--queue needs a Redis URL (or ${QUEUE_ENV})`);
  const target = parseQueueUrl(url);
  await checkQueue(target);
  return target;
}
