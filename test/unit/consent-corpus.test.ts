import { describe, expect, it } from 'vitest';
import { classifyReply } from '../../src/compliance/consent.ts';
import { DEFAULT_KEYWORDS, foldKeyword, KeywordMatcher } from '../../src/compliance/keywords.ts';
import { CORPUS, type Label } from '../fixtures/opt-out-corpus.ts';

const matcher = new KeywordMatcher();
const labelOf = (text: string): Label => {
  const m = classifyReply(text, matcher);
  if (m?.kind === 'opt_out') return 'opt_out';
  if (m?.kind === 'review') return 'review';
  return 'none';
};

describe('opt-out detection on the labelled corpus', () => {
  it('has at least 150 replies of every kind', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
    for (const l of ['opt_out', 'review', 'none'] as const)
      expect(CORPUS.filter(([, x]) => x === l).length).toBeGreaterThan(10);
  });

  it('opts out with precision 1.0 and recall ≥ 0.95; look-alikes never opt out', () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const wrong: string[] = [];
    for (const [text, label] of CORPUS) {
      const got = labelOf(text);
      if (got === 'opt_out' && label === 'opt_out') tp++;
      else if (got === 'opt_out') fp++;
      else if (label === 'opt_out') fn++;
      if (got !== label) wrong.push(`${JSON.stringify(text)}: ${label} → ${got}`);
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const exact = (CORPUS.length - wrong.length) / CORPUS.length;
    console.log(
      `opt-out corpus: ${CORPUS.length} replies, precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)}, all three labels right ${(exact * 100).toFixed(1)}%${wrong.length ? `; differing: ${wrong.join('; ')}` : ''}`,
    );
    expect(fp).toBe(0);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(exact).toBeGreaterThanOrEqual(0.95);
  });
});

describe('keywords', () => {
  it('match only the whole message, any case, width or trailing punctuation', () => {
    expect(matcher.match('Stop!')).toEqual({ action: 'opt_out', keyword: 'STOP' });
    expect(matcher.match('\tＳｔｏｐ ?')).toEqual({ action: 'opt_out', keyword: 'STOP' });
    expect(matcher.match('stop  all')).toEqual({ action: 'opt_out', keyword: 'STOP ALL' });
    expect(matcher.match('opt-out')).toEqual({ action: 'opt_out', keyword: 'OPT-OUT' });
    expect(matcher.match('Start.')).toEqual({ action: 'opt_in', keyword: 'START' });
    expect(matcher.match('unstop')).toEqual({ action: 'opt_in', keyword: 'UNSTOP' });
    expect(matcher.match('help?')).toEqual({ action: 'help', keyword: 'HELP' });
    expect(matcher.match('INFO')).toEqual({ action: 'help', keyword: 'INFO' });
    expect(matcher.match('stop it')).toBeUndefined();
    expect(matcher.match('-stop')).toBeUndefined();
    expect(matcher.match('')).toBeUndefined();
    expect(matcher.match('x'.repeat(10_000))).toBeUndefined();
  });

  it('fold with Unicode case folding (ß ~ SS, dotted and full-width forms)', () => {
    expect(foldKeyword('STRAßE')).toBe(foldKeyword('strasse'));
    expect(foldKeyword('ＨＥＬＰ！')).toBe('help');
    const custom = new KeywordMatcher({ ...DEFAULT_KEYWORDS, optOut: ['ARRÊT', 'BAJA'] });
    expect(custom.match('arrêt')).toEqual({ action: 'opt_out', keyword: 'ARRÊT' });
    expect(custom.match('Baja.')).toEqual({ action: 'opt_out', keyword: 'BAJA' });
    expect(custom.match('stop')).toBeUndefined();
  });

  it('let opt-out win when a word is in two lists', () => {
    const m = new KeywordMatcher({ optOut: ['END'], optIn: ['END', 'GO'], help: ['GO'] });
    expect(m.match('end')?.action).toBe('opt_out');
    expect(m.match('go')?.action).toBe('opt_in');
  });
});
