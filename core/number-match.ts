/**
 * Number matching against MFA fatigue: the login side shows one two-digit number, the app
 * offers three and only the right pick lets an Accept count. Pure; randomness injectable.
 */
export type Random = () => number;

const cryptoRandom: Random = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;

export function pickMatchNumber(random: Random = cryptoRandom): number {
  return 10 + Math.floor(random() * 90);
}

/** Three distinct two-digit numbers, one of them `number`, in random order. */
export function matchChoices(number: number, random: Random = cryptoRandom): number[] {
  const set = new Set([number]);
  while (set.size < 3) set.add(pickMatchNumber(random));
  const list = [...set];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}
