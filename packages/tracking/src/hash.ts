// One definition of config identity for the whole project lives in core.
export { canonicalJson, configHash, sha256Hex } from '@cascade-lab/core';
