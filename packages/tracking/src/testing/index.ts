/**
 * `@cascade-lab/tracking/testing`: a real `mlflow server` for integration tests (this package's and
 * the runner's sweep suite). Test code only.
 */
export * from './mlflow-server.js';
