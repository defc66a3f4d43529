// Removes the run's temporary folder made by jest.global-setup.cjs (CASCADE_KEEP_TEST_TMP=1 keeps it
// for a look at what the tests wrote).
const { rmSync } = require('node:fs');

module.exports = async () => {
  const root = process.env.CASCADE_JEST_TMPDIR;
  if (!root) return;
  if (process.env.CASCADE_KEEP_TEST_TMP === '1') {
    process.stderr.write(`test temporary files kept in ${root}\n`);
    return;
  }
  rmSync(root, { recursive: true, force: true });
};
