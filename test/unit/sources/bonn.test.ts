import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../../src/model/errors.js';
import { BONN_SAMPLES, bonnSet, parseBonnText, readBonn } from '../../../src/sources/bonn.js';
import { tempDir } from '../../helpers/paths.js';

describe('Bonn EEG text segments', () => {
  const tmp = tempDir('harmonia-bonn-');
  afterAll(() => tmp.remove());
  const put = (name: string, text: string) => {
    const f = join(tmp.path, name);
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, text);
    return f;
  };
  const segment = (n = BONN_SAMPLES) => Array.from({ length: n }, (_, i) => String(Math.round(100 * Math.sin(i / 10)))).join('\n') + '\n';

  test('a 4,097-sample segment at 173.61 Hz, µV, with its set from the file name or the folder', () => {
    const f = put('S/S007.txt', segment());
    const r = readBonn(f);
    expect(r.format).toBe('bonn');
    expect(r.id).toBe('S007');
    expect(r.channels).toHaveLength(1);
    expect(r.channels[0]).toMatchObject({ label: 'EEG', unit: 'uV', samplingRate: 173.61 });
    expect(r.channels[0].samples.length).toBe(4097);
    expect(r.channels[0].samples[10]).toBe(Math.round(100 * Math.sin(1)));
    expect(r.durationSeconds).toBeCloseTo(4097 / 173.61, 10);
    expect(r.acquisition).toMatchObject({ samplingRate: 173.61, channels: 1, bonnSet: 'S', seizure: true, electrodes: 'intracranial' });
    expect(r.warnings).toEqual([]);
    expect(bonnSet('/x/sets/N/N001.TXT')).toBe('N');
    expect(bonnSet('/x/sets/Z/segment.txt')).toBe('Z');
    expect(bonnSet('/x/other/a.txt')).toBeUndefined();
  });

  test('CRLF line ends and blank lines are fine; a short segment is a warning, or an error when strict', () => {
    expect(Array.from(parseBonnText('1\r\n-2\r\n\r\n3.5\r\n', 'f'))).toEqual([1, -2, 3.5]);
    const f = put('Z/Z001.txt', segment(100));
    expect(readBonn(f).warnings).toEqual(['segment holds 100 samples, not the 4097 of the Bonn sets']);
    expect(() => readBonn(f, { strictLength: true })).toThrow(/field samples: segment holds 100 samples/);
  });

  test('NaN, text and empty files give one clear error naming the line', () => {
    const cases: [string, string, RegExp][] = [
      ['nan.txt', '1\n2\nNaN\n4\n', /nan.txt, record line 3, field sample: sample 'NaN' is not a finite number/],
      ['word.txt', '1\nabc\n', /record line 2, field sample: sample 'abc' is not a finite number/],
      ['inf.txt', '1\nInfinity\n', /record line 2, field sample: sample 'Infinity' is not a finite number/],
      ['empty.txt', '\n\n', /record line 1, field sample: no samples/],
    ];
    for (const [name, text, pattern] of cases) {
      const f = put(name, text);
      let error: unknown;
      try {
        readBonn(f);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(pattern);
    }
    expect(() => readBonn(put('ok.txt', '1\n2\n'), { samplingRate: 0 })).toThrow(/field samplingRate: sampling rate must be > 0 Hz, got 0/);
  });
});
