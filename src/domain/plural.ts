// `1 host`, `2 hosts`: counts in messages read as words.

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
