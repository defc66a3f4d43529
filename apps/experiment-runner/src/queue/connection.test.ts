import { parseQueueUrl, redact } from './connection.js';

describe('queue URLs', () => {
  it('reads host, port, db, user and password, and TLS from rediss://', () => {
    const t = parseQueueUrl('rediss://worker:p%40ss%3Aw0rd@redis.lab:6380/2');
    expect(t.connection).toMatchObject({ host: 'redis.lab', port: 6380, db: 2, username: 'worker', password: 'p@ss:w0rd', tls: {} });
    expect(t.display).toBe('rediss://redis.lab:6380/2');
    expect(parseQueueUrl('redis://localhost').connection).toMatchObject({ host: 'localhost', port: 6379, db: 0 });
    expect(parseQueueUrl('redis://localhost').connection.tls).toBeUndefined();
    expect(parseQueueUrl('rediss://h?insecure=1').connection.tls).toEqual({ rejectUnauthorized: false });
  });

  it('never shows the password: not in the display form, not in redacted text, not in its errors', () => {
    const t = parseQueueUrl('redis://:s3cr%21t@10.0.0.5:6379');
    expect(t.display).toBe('redis://10.0.0.5:6379');
    expect(redact('AUTH failed for s3cr!t at redis://:s3cr%21t@10.0.0.5:6379', t)).toBe('AUTH failed for *** at redis://***@10.0.0.5:6379');
    for (const bad of ['redis//:hunter2@x', 'http://:hunter2@x:1', 'redis://:hunter2@x/abc']) {
      expect(() => parseQueueUrl(bad)).toThrow();
      try {
        parseQueueUrl(bad);
      } catch (e) {
        expect((e as Error).message).not.toContain('hunter2');
      }
    }
  });
});
