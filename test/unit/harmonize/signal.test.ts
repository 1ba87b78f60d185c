import {
  bandPower, butterworth, Fft, interpolateNaN, lineLength, medianFilter, notch, rationalApproximation, resample, resamplePoly,
  sosfilt, sosfiltfilt, sosGain, sosZi, spectralEdge, spectralEntropy, welch, zscore,
} from '../../../src/harmonize/signal.js';

// Reference numbers computed with SciPy 1.17.1 / NumPy 2.4.6 on the same test signal:
//   fs = 250; t = arange(1000) / fs
//   x = sin(2 pi 10 t) + 0.5 sin(2 pi 50 t + 0.3) + 0.25 sin(2 pi 1.3 t) + 0.2 t
// e.g. sosfiltfilt(butter(4, [0.5, 40], 'bandpass', fs=250, output='sos'), x)[idx].

const fs = 250;
const x = Float64Array.from({ length: 1000 }, (_, i) => {
  const t = i / fs;
  return Math.sin(2 * Math.PI * 10 * t) + 0.5 * Math.sin(2 * Math.PI * 50 * t + 0.3) + 0.25 * Math.sin(2 * Math.PI * 1.3 * t) + 0.2 * t;
});
const idx = [0, 1, 2, 10, 100, 500, 998, 999];
const at = (y: ArrayLike<number>, is: number[]) => is.map((i) => y[i]);
const close = (got: number[], want: number[], tol: number) => got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(tol));

const FILTERS = {
  bandpass: {
    sos: () => butterworth(4, [0.5, 40], 'bandpass', fs),
    gain: [0.9985311488369624, 0.9999999999999705, 0.9999993944488184, 0.9683715302636926, 0.3059984844740571, 0.0009737428846505467],
    y: [0.28162401527273967, 0.4482881158373252, 0.6011028855972802, 0.7955791299275439, -0.020893369196919864, -0.11832141021731987, 0.23907472841144714, 0.14573672663023252],
  },
  highpass: {
    sos: () => butterworth(2, 1, 'highpass', fs),
    gain: [0.7071067811864556, 0.9992049853291269, 0.9999510388543451, 0.999999492500438, 0.9999999552434387, 0.9999999998610032],
    y: [0.1172935320637804, 0.7242947414363008, 0.6247667092369045, 0.766045854335651, 0.1213940141015081, 0.0388289967459442, -0.20905857153316187, 0.033611227454368175],
  },
  lowpass5: {
    sos: () => butterworth(5, 30, 'lowpass', fs),
    gain: [0.9999999999999987, 0.9999999948675262, 0.9999945317573461, 0.7071067811865469, 0.04800372762730534, 3.523394898999497e-05],
    y: [0.14809452675965287, 0.3236710470280379, 0.5022159813030145, 0.6792023132303225, 0.049007183742666306, 0.2533941790832894, 0.3763786431391569, 0.37740933959664985],
  },
  bandstop: {
    sos: () => butterworth(2, [45, 55], 'bandstop', fs),
    gain: [0.9999999997735994, 0.9999998535874709, 0.9999973874437604, 0.9990808335058383, 0.00041788410014730087, 0.9999903567397272],
    y: [0.13740884963485453, 0.3160665298155505, 0.41416965793851845, 0.7188236759804945, 0.048652928497628915, 0.25305371292002277, 0.3968686445535215, 0.3954184527691835],
  },
};

describe('shared DSP against SciPy', () => {
  test.each(Object.entries(FILTERS))('Butterworth %s: response (sosfreqz) and zero-phase output (sosfiltfilt)', (_, f) => {
    const sos = f.sos();
    close([1, 5, 10, 30, 50, 100].map((hz) => sosGain(sos, hz, fs)), f.gain, 1e-10);
    close(at(sosfiltfilt(sos, x), idx), f.y, 1e-10);
  });

  test('notch: iirnotch(50, 30, fs) coefficients and filtfilt output', () => {
    const sos = notch(50, 30, fs);
    close(Array.from(sos.subarray(0, 3)), [0.9794827609814495, -0.6053536376811252, 0.9794827609814495], 1e-12);
    close(at(sosfiltfilt(sos, x), idx), [0.08188671008547865, 0.4690520121789777, 0.5491001271171767, 0.7422777319026165, 0.05856834801207462, 0.253055155619044, 0.5014647256609828, 0.6559885625102457], 1e-12);
    expect(sosGain(sos, 50, fs)).toBeLessThan(1e-12);
  });

  test('steady-state initial conditions make a constant pass unchanged; causal filtering starts from rest', () => {
    const sos = butterworth(4, 30, 'lowpass', fs);
    const flat = new Float64Array(200).fill(3);
    close(Array.from(sosfiltfilt(sos, flat)), Array.from(flat), 1e-9);
    const zi = sosZi(sos);
    expect(zi.length).toBe(4);
    const step = sosfilt(sos, new Float64Array(2000).fill(1));
    expect(step[0]).toBeCloseTo(sos[0], 15);
    expect(step[1999]).toBeCloseTo(1, 9);
  });

  test.each([
    [64, 125, 512, [0, 1, 5, 256, 510, 511], [0.28819648170501744, 0.6504139927528613, 0.7190145425701231, 0.4008589023213449, 0.6198698875379166, 0.2720767461659892], [0.3869076136267542, 0.6237581850196876, 0.7154448733121224, 0.40089437432393127, 0.6334564566241403, 0.24542093843281543]],
    [2, 1, 2000, [0, 1, 5, 1000, 1998, 1999], [0.1478365648394142, 0.46450876799536855, 0.44430965783342496, 0.40102119960848065, 0.3771896717384053, 0.23189415899574484], [0.14762710938998386, 0.41061718757043464, 0.42736683382027213, 0.40081174415905035, 0.37698021628897493, 0.4343828009225582]],
    [5, 6, 834, [0, 1, 5, 417, 832, 833], [0.17727357464316176, 0.7901653927082332, 1.5524774931845406, 0.7114876185924816, 0.25742990414187894, 0.1936075636774503], [0.2108038907173326, 0.7786692136989095, 1.5507145327144765, 0.7115800341130896, 0.20887441195778667, 0.43334309210490357]],
  ])('resample_poly(x, %i, %i): length and values, zero and mean padding', (up, down, length, ks, constant, mean) => {
    const y = resamplePoly(x, up, down);
    expect(y.length).toBe(length);
    close(at(y, ks), constant, 1e-12);
    close(at(resamplePoly(x, up, down, 'mean'), ks), mean, 1e-12);
  });

  test('173.61 -> 128 Hz is the exact ratio 12800/17361 (resample_poly on 700 samples)', () => {
    expect(rationalApproximation(128 / 173.61)).toEqual({ up: 12800, down: 17361 });
    const y = resamplePoly(x.subarray(0, 700), 12800, 17361);
    expect(y.length).toBe(517);
    close(at(y, [0, 3, 258, 516]), [0.1979775251079774, 0.5079904683317218, 0.14341443434576057, -0.023748313188040576], 1e-12);
    const r = resample(x.subarray(0, 700), 173.61, 128);
    expect(r.samplingRate).toBeCloseTo(128, 10);
  });

  test('resampling suppresses what would alias: a 40 Hz tone taken to 50 Hz nearly vanishes, a 5 Hz tone stays', () => {
    const tone = (f: number) => Float64Array.from({ length: 5000 }, (_, i) => Math.sin((2 * Math.PI * f * i) / fs));
    const rms = (y: Float64Array) => Math.sqrt(y.subarray(100, y.length - 100).reduce((a, v) => a + v * v, 0) / (y.length - 200));
    expect(rms(resample(tone(40), fs, 50).samples)).toBeLessThan(0.01);
    expect(rms(resample(tone(5), fs, 50).samples)).toBeCloseTo(Math.SQRT1_2, 2);
  });

  test.each([
    [256, 129, [0, 1, 10, 40, 128], [0.005118916004709707, 0.02404364267337213, 0.3167975679183222, 1.5323001309515724e-09, 1.3281883312799918e-14]],
    [200, 101, [0, 1, 8, 40, 100], [0.0032297819406133087, 0.017159131549851388, 0.2667223421852378, 0.0666668732304097, 8.006590542322611e-20]],
    [175, 88, [0, 1, 7, 40, 87], [0.003775942467537219, 0.012804555268720333, 0.23333363569144933, 1.3261305259662023e-13, 3.9339767408505696e-18]],
  ])('welch(x, fs, nperseg=%i): Hann, 50 %% overlap, density (power-of-two and Bluestein FFT)', (nperseg, bins, ks, p) => {
    const s = welch(x, fs, nperseg);
    expect(s.psd.length).toBe(bins);
    expect(s.frequencies[1]).toBeCloseTo(fs / nperseg, 12);
    ks.forEach((k, i) => expect(Math.abs(s.psd[k] - p[i])).toBeLessThan(1e-9 * Math.max(1e-6, p[i]) + 1e-14));
  });

  test('FFT of arbitrary length matches the DFT', () => {
    for (const n of [1, 2, 8, 12, 17, 100]) {
      const re = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 1.7) + i / n), im = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.3));
      const [r0, i0] = [Float64Array.from(re), Float64Array.from(im)];
      new Fft(n).transform(re, im);
      for (let k = 0; k < n; k++) {
        let sr = 0, si = 0;
        for (let j = 0; j < n; j++) {
          const a = (-2 * Math.PI * j * k) / n;
          sr += r0[j] * Math.cos(a) - i0[j] * Math.sin(a);
          si += r0[j] * Math.sin(a) + i0[j] * Math.cos(a);
        }
        expect(Math.abs(re[k] - sr)).toBeLessThan(1e-9);
        expect(Math.abs(im[k] - si)).toBeLessThan(1e-9);
      }
    }
  });

  test('spectral measures: band power of a tone is its variance; edge frequency; entropy from line (0) to flat (1)', () => {
    const tone = Float64Array.from({ length: 2560 }, (_, i) => 2 * Math.sin((2 * Math.PI * 10 * i) / 256));
    const s = welch(tone, 256, 512);
    expect(bandPower(s, 8, 13)).toBeCloseTo(2, 2);
    expect(bandPower(s, 20, 40)).toBeLessThan(1e-6);
    expect(spectralEdge(s, 0.95, 1, 45)).toBeGreaterThanOrEqual(10);
    expect(spectralEdge(s, 0.95, 1, 45)).toBeLessThanOrEqual(10.5);
    expect(spectralEntropy(s, 1, 45)).toBeLessThan(0.25); // three Hann main-lobe bins of 88
    let seed = 7;
    const noise = Float64Array.from({ length: 25600 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5);
    expect(spectralEntropy(welch(noise, 256, 512), 1, 45)).toBeGreaterThan(0.97);
  });

  test('median filter (scipy.ndimage.median_filter, mode nearest), z-score, line length, NaN bridging', () => {
    close(at(medianFilter(x, 51), idx), [0.14776010333066977, 0.14776010333066977, 0.14776010333066977, 0.14776010333066977, 0.19642679493959586, 0.40081379025752695, 0.3769945881241772, 0.3769945881241772], 1e-15);
    const z = zscore(Float64Array.from([1, 2, 3, 4]));
    close(Array.from(z), [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, 1.3416407864998738], 1e-15);
    expect(Array.from(zscore(Float64Array.from([5, 5])))).toEqual([0, 0]);
    expect(lineLength(Float64Array.from([0, 1, -1, 2]))).toBe(6);
    const g = Float64Array.from([NaN, 1, NaN, NaN, 4, NaN]);
    expect(interpolateNaN(g)).toBe(4);
    expect(Array.from(g)).toEqual([1, 1, 2, 3, 4, 4]);
  });

  test('invalid designs are refused with the reason', () => {
    expect(() => butterworth(4, [0.5, 200], 'bandpass', fs)).toThrow(/cutoff 200 Hz must lie strictly between 0 and the Nyquist frequency 125 Hz/);
    expect(() => butterworth(0, 10, 'lowpass', fs)).toThrow(/order must be a positive integer/);
    expect(() => notch(60, 30, 100)).toThrow(/notch frequency 60 Hz/);
    expect(() => sosfiltfilt(butterworth(4, 10, 'lowpass', fs), new Float64Array(10))).toThrow(/too short for zero-phase filtering \(needs more than 15\)/);
    expect(() => resample(x, 0, 100)).toThrow(/sampling rates must be > 0 Hz/);
  });
});
