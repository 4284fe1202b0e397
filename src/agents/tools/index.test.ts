import { describe, expect, it } from 'vitest';
import { ROOT_TOOLS_DIR, toolsDir } from './index.ts';

describe('the tools cache', () => {
  it('is in the home for a normal user, outside /root for root, and wherever NIGHTSHIFT_TOOLS_DIR says', () => {
    expect(toolsDir('/home/ann/.nightshift', {}, false)).toBe('/home/ann/.nightshift/tools');
    expect(toolsDir('/root/.nightshift', {}, true)).toBe(ROOT_TOOLS_DIR);
    expect(toolsDir('/root/.nightshift', { NIGHTSHIFT_TOOLS_DIR: '/srv/tools' }, true)).toBe('/srv/tools');
  });
});
