import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MlflowClient, artifactProxyPath } from './client.js';
import { redactUri } from '../errors.js';
import { normaliseArtifactPath } from '../paths.js';

describe('artifactProxyPath', () => {
  it('maps the proxy URIs a server hands out to the REST path', () => {
    expect(artifactProxyPath('mlflow-artifacts:/1/abc/artifacts')).toBe('1/abc/artifacts');
    expect(artifactProxyPath('mlflow-artifacts://host:5000/1/abc/artifacts/')).toBe('1/abc/artifacts');
    expect(artifactProxyPath('http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts')).toBe('1/abc/artifacts');
  });

  it('says when artifacts are not proxied', () => {
    expect(() => artifactProxyPath('s3://bucket/1/abc')).toThrow(expect.objectContaining({ errorCode: 'ARTIFACTS_NOT_PROXIED' }));
    expect(() => artifactProxyPath('/var/mlruns/1/abc')).toThrow(/not served by the MLflow artifact proxy/);
  });
});

describe('normaliseArtifactPath', () => {
  it('keeps paths inside the run', () => {
    expect(normaliseArtifactPath('./plots\\curve.png')).toBe('plots/curve.png');
    expect(() => normaliseArtifactPath('../x')).toThrow(/invalid artifact path/);
    expect(() => normaliseArtifactPath('/etc/passwd')).toThrow(/invalid artifact path/);
  });
});

describe('credentials', () => {
  it('never show in the tracking URI', () => {
    expect(redactUri('http://ana:s3cret@host:5000/x')).toBe('http://host:5000/x');
    const client = new MlflowClient({ trackingUri: 'http://ana:s3cret@127.0.0.1:5000/' });
    expect(client.trackingUri).toBe('http://127.0.0.1:5000');
    client.close();
  });

  it('come from the MLflow variables', () => {
    expect(() => MlflowClient.fromEnv({})).toThrow(/no MLflow tracking URI/);
    const client = MlflowClient.fromEnv({ MLFLOW_TRACKING_URI: 'http://127.0.0.1:1', MLFLOW_HTTP_REQUEST_MAX_RETRIES: '2' });
    expect(client.retryPolicy.maxRetries).toBe(2);
    client.close();
    expect(() => new MlflowClient({ trackingUri: 'file:///tmp/mlruns' })).toThrow(/needs an http\(s\) tracking URI/);
  });
});

describe('kept-alive connections', () => {
  // A server that closes idle connections after a while (uvicorn, which `mlflow server` runs: 5 s,
  // without saying so in a Keep-Alive header): the client must drop its idle sockets before that, or a
  // call made just as the server closes one fails (ECONNRESET). Node's server announces its timeout
  // (Keep-Alive: timeout=3, which Node's agent honours less 1 s): the client's own 200 ms must win.
  const serve = async (): Promise<{ server: http.Server; uri: string; connections: () => number }> => {
    let connections = 0;
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"experiment": {"experiment_id": "1", "name": "e", "lifecycle_stage": "active"}}');
    });
    server.keepAliveTimeout = 3000;
    server.on('connection', () => connections++);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return { server, uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('are reused while fresh and dropped before the server closes them', async () => {
    const { server, uri, connections } = await serve();
    const client = new MlflowClient({ trackingUri: uri, idleSocketTimeoutMs: 200, retry: { maxRetries: 0 } });
    try {
      await client.getExperiment('1');
      await wait(50); // the agent frees the socket just after the response ends
      await client.getExperiment('1');
      expect(connections()).toBe(1); // a fresh idle socket is reused
      await wait(300); // idle past the client's 200 ms, well before the server's limit
      await client.getExperiment('1');
      expect(connections()).toBe(2); // the client had closed its idle socket and opened a new one
    } finally {
      client.close();
      server.close();
    }
  });
});
