import { didYouMean, editDistance } from './text.js';

describe('editDistance', () => {
  it('counts edits by hand-checked examples', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3); // classic: k->s, e->i, +g
    expect(editDistance('haeds', 'heads')).toBe(1); // one adjacent swap
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});

describe('didYouMean', () => {
  it('suggests close names only', () => {
    expect(didYouMean('memetraker', ['irvine', 'memetracker'])).toBe('memetracker');
    expect(didYouMean('xyz', ['irvine', 'memetracker'])).toBeUndefined();
  });
});
