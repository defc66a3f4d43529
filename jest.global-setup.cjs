// Every temporary file a test run makes (its own mkdtemp calls, the CLI processes it starts, the
// compiled-graph SavedModels) goes under one folder of this run: TMPDIR is set here, in the parent
// process, before the test workers start, so they and their children inherit it; the teardown
// removes the folder, so that a test that forgets to clean up, or a process a test kills, leaves
// nothing behind in the machine's temporary directory.
const { mkdtempSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cascade-jest-'));
  process.env.CASCADE_JEST_TMPDIR = root;
  process.env.TMPDIR = root;
};
