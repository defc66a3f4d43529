// Tests read what commands print, so no colour codes: picocolors colours output whenever CI is set
// (CI machines set it) unless NO_COLOR is; chalk-based tools (nx) listen to FORCE_COLOR=0. Child
// processes spawned by tests inherit both.
process.env.NO_COLOR = '1';
process.env.FORCE_COLOR = '0';
