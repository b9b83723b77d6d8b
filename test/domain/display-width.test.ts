// Terminal columns, not UTF-16 code units (CORE-002, the terminal view: lines are cut to the
// terminal's width).
import { describe, expect, it } from 'vitest';
import { displayWidth, fitsWidth, sliceEndToWidth, sliceToWidth } from '../../src/domain/display-width.js';

describe('display width', () => {
  it('counts wide characters twice, marks and joiners not at all', () => {
    expect(displayWidth('deploy ERROR')).toBe(12);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('ｈｅｌｌｏ')).toBe(10);
    expect(displayWidth('ｱ')).toBe(1); // halfwidth katakana
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('·…✖⠋')).toBe(4); // the frame's own symbols are narrow
  });

  it('counts emoji as terminals draw them', () => {
    expect(displayWidth('😀')).toBe(2);
    expect(displayWidth('👨‍👩‍👧')).toBe(2);
    expect(displayWidth('👍🏽')).toBe(2);
    expect(displayWidth('🇯🇵🇫🇷')).toBe(4);
    expect(displayWidth('❤')).toBe(1);
    expect(displayWidth('❤️')).toBe(2);
  });

  it('cuts at a column, never through a wide character or away from its marks', () => {
    expect(sliceToWidth('日本語テキスト', 5)).toBe('日本');
    expect(sliceToWidth('e\u0301e\u0301e\u0301', 2)).toBe('e\u0301e\u0301');
    expect(sliceToWidth('a😀b', 2)).toBe('a');
    expect(sliceEndToWidth('日本語テキスト', 5)).toBe('スト');
    expect(sliceEndToWidth('web-frontend-01', 5)).toBe('nd-01');
    expect(fitsWidth('日本', 3)).toBe(false);
    expect(fitsWidth('日本', 4)).toBe(true);
  });
});
