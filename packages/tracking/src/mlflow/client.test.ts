import { describe, expect, it } from '@jest/globals';
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
